// BPE encoding (see bpe_model.h). Merging uses a min-heap of candidate pairs over a linked
// list of symbols, so a word of n symbols costs O(n log n) however long it is (a Metaspace
// tokenizer with split=false hands the whole input over as one word).
#include "libcore/tokenizer/bpe_model.h"

#include <algorithm>
#include <cstdio>
#include <queue>

#include "libcore/tokenizer/unicode.h"

namespace lamina::tokenizer {
namespace {

constexpr size_t kMaxCachedWordBytes = 256;
constexpr size_t kMaxCacheEntries = 100000;

// A merge candidate: merge the symbol at `pos` with its right neighbour into `new_id`.
struct Candidate {
  uint32_t rank;
  int32_t pos;
  int32_t new_id;
  bool operator>(const Candidate& other) const {
    return rank != other.rank ? rank > other.rank : pos > other.pos;
  }
};

// The two halves of a merge given as "a b" or ["a", "b"].
std::pair<std::string, std::string> parse_merge(const Json& merge, const std::string& where,
                                                size_t index) {
  const std::string here = where + ": merges[" + std::to_string(index) + "]";
  if (merge.is_string()) {
    const auto& text = merge.get_ref<const std::string&>();
    const size_t space = text.find(' ', 1);
    if (space == std::string::npos) fail(here, "merge '" + text + "' is not two tokens");
    return {text.substr(0, space), text.substr(space + 1)};
  }
  if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
    return {merge[0].get<std::string>(), merge[1].get<std::string>()};
  }
  fail(here, "a merge must be \"a b\" or [\"a\", \"b\"]");
}

}  // namespace

BpeModel::BpeModel(const Json& json, const std::string& where) {
  const Json& vocab = require_field(json, "vocab", where);
  if (!vocab.is_object()) fail(where, "'vocab' must be an object of token: id");
  vocab_.reserve(vocab.size());
  int32_t max_id = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() > INT32_MAX) {
      fail(where, "vocab entry '" + it.key() + "' must have a non-negative integer id");
    }
    const auto id = static_cast<int32_t>(it.value().get<int64_t>());
    vocab_[it.key()] = id;
    max_id = std::max(max_id, id);
  }
  if (max_id >= 0 && static_cast<size_t>(max_id) > vocab.size() * 4 + 1024) {
    fail(where, "vocab ids are far sparser than the vocab (largest id " + std::to_string(max_id) +
                    " for " + std::to_string(vocab.size()) + " tokens)");
  }
  id_to_token_.resize(static_cast<size_t>(max_id + 1));
  for (const auto& [token, id] : vocab_) id_to_token_[static_cast<size_t>(id)] = token;

  continuing_subword_prefix_ = optional_string(json, "continuing_subword_prefix", "", where);
  end_of_word_suffix_ = optional_string(json, "end_of_word_suffix", "", where);
  fuse_unk_ = optional_bool(json, "fuse_unk", false, where);
  byte_fallback_ = optional_bool(json, "byte_fallback", false, where);
  ignore_merges_ = optional_bool(json, "ignore_merges", false, where);
  if (json.contains("dropout") && !json["dropout"].is_null() && json["dropout"].is_number() &&
      json["dropout"].get<double>() > 0.0) {
    fail(where, "BPE dropout is not supported");
  }
  const std::string unk = optional_string(json, "unk_token", "", where);
  if (!unk.empty()) {
    const auto it = vocab_.find(unk);
    if (it == vocab_.end()) fail(where, "unk_token '" + unk + "' is not in the vocab");
    unk_id_ = it->second;
  }

  byte_ids_.assign(256, -1);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    const auto it = vocab_.find(std::string_view(name));
    if (it != vocab_.end()) byte_ids_[static_cast<size_t>(b)] = it->second;
  }

  const Json& merges = require_field(json, "merges", where);
  if (!merges.is_array()) fail(where, "'merges' must be a list");
  merges_.reserve(merges.size());
  const size_t prefix_len = continuing_subword_prefix_.size();
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto [left, right] = parse_merge(merges[rank], where, rank);
    const auto left_id = vocab_.find(left);
    const auto right_id = vocab_.find(right);
    if (left_id == vocab_.end() || right_id == vocab_.end()) {
      fail(where, "merge '" + left + " " + right + "' uses a token that is not in the vocab");
    }
    if (right.compare(0, prefix_len, continuing_subword_prefix_) != 0) {
      fail(where, "merge '" + left + " " + right + "' lacks the continuing subword prefix");
    }
    const auto merged = vocab_.find(left + right.substr(prefix_len));
    if (merged == vocab_.end()) {
      fail(where, "merge '" + left + " " + right + "' makes a token that is not in the vocab");
    }
    merges_[pair_key(left_id->second, right_id->second)] = {static_cast<uint32_t>(rank),
                                                            merged->second};
  }
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) return nullptr;
  const std::string& token = id_to_token_[static_cast<size_t>(id)];
  // Holes in a sparse vocab are empty strings; no real token is empty.
  if (token.empty() && !vocab_.contains(std::string_view())) return nullptr;
  return &token;
}

void BpeModel::initial_symbols(std::string_view word, std::vector<int32_t>& symbols) const {
  int32_t pending_unk = -1;  // an unk not yet emitted (fused with following unks), or -1
  std::string piece;
  size_t i = 0;
  while (i < word.size()) {
    const size_t begin = i;
    const size_t n = utf8_sequence_length(word, i);
    i += n == 0 ? 1 : n;
    const bool is_first = begin == 0;
    const bool is_last = i == word.size();
    piece.assign(word.substr(begin, i - begin));
    if (!is_first && !continuing_subword_prefix_.empty())
      piece.insert(0, continuing_subword_prefix_);
    if (is_last && !end_of_word_suffix_.empty()) piece += end_of_word_suffix_;

    const auto it = vocab_.find(piece);
    if (it != vocab_.end()) {
      if (pending_unk >= 0) symbols.push_back(pending_unk);
      pending_unk = -1;
      symbols.push_back(it->second);
      continue;
    }
    if (byte_fallback_) {
      bool all_bytes = true;
      for (const char c : piece)
        all_bytes = all_bytes && byte_ids_[static_cast<unsigned char>(c)] >= 0;
      if (all_bytes) {
        if (pending_unk >= 0) symbols.push_back(pending_unk);
        pending_unk = -1;
        for (const char c : piece) symbols.push_back(byte_ids_[static_cast<unsigned char>(c)]);
        continue;
      }
    }
    if (unk_id_) {
      if (pending_unk >= 0 && !fuse_unk_) symbols.push_back(pending_unk);
      pending_unk = *unk_id_;
    }
    // Without an unk token the character is dropped, as HF tokenizers does.
  }
  if (pending_unk >= 0) symbols.push_back(pending_unk);
}

void BpeModel::merge_all(std::vector<int32_t>& symbols) const {
  const auto n = static_cast<int32_t>(symbols.size());
  if (n < 2 || merges_.empty()) return;
  std::vector<int32_t> prev(static_cast<size_t>(n));
  std::vector<int32_t> next(static_cast<size_t>(n));
  std::vector<bool> removed(static_cast<size_t>(n), false);
  for (int32_t i = 0; i < n; ++i) {
    prev[static_cast<size_t>(i)] = i - 1;
    next[static_cast<size_t>(i)] = i + 1 < n ? i + 1 : -1;
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto push_pair = [&](int32_t pos) {
    const int32_t right = next[static_cast<size_t>(pos)];
    if (right < 0) return;
    const auto it = merges_.find(
        pair_key(symbols[static_cast<size_t>(pos)], symbols[static_cast<size_t>(right)]));
    if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.new_id});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push_pair(i);

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    const auto pos = static_cast<size_t>(top.pos);
    if (removed[pos]) continue;
    const int32_t right = next[pos];
    if (right < 0) continue;
    // Skip stale candidates: the pair at `pos` must still merge into the same token.
    const auto it = merges_.find(pair_key(symbols[pos], symbols[static_cast<size_t>(right)]));
    if (it == merges_.end() || it->second.new_id != top.new_id) continue;

    symbols[pos] = top.new_id;
    removed[static_cast<size_t>(right)] = true;
    const int32_t after = next[static_cast<size_t>(right)];
    next[pos] = after;
    if (after >= 0) prev[static_cast<size_t>(after)] = top.pos;
    if (prev[pos] >= 0) push_pair(prev[pos]);
    push_pair(top.pos);
  }
  size_t kept = 0;
  for (size_t i = 0; i < symbols.size(); ++i) {
    if (!removed[i]) symbols[kept++] = symbols[i];
  }
  symbols.resize(kept);
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& ids) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    const auto it = vocab_.find(word);
    if (it != vocab_.end()) {
      ids.push_back(it->second);
      return;
    }
  }
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    const auto it = cache_.find(word);
    if (it != cache_.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> symbols;
  symbols.reserve(word.size());
  initial_symbols(word, symbols);
  merge_all(symbols);
  ids.insert(ids.end(), symbols.begin(), symbols.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() >= kMaxCacheEntries) cache_.clear();
    cache_.emplace(std::string(word), std::move(symbols));
  }
}

std::optional<size_t> BpeModel::max_token_bytes() const {
  if (fuse_unk_ && unk_id_) return std::nullopt;
  size_t longest = 4;  // one UTF-8 character
  for (const auto& token : id_to_token_) longest = std::max(longest, token.size());
  return longest;
}

}  // namespace lamina::tokenizer
