// Pre-tokenizers (see pre_tokenizer.h). Splitting follows HF tokenizers: a pattern yields
// alternating match / non-match ranges and a SplitDelimiterBehavior decides what becomes a
// piece; empty pieces are dropped.
#include "libcore/tokenizer/pre_tokenizer.h"

#include <algorithm>
#include <functional>
#include <optional>

#include "libcore/tokenizer/regex.h"
#include "libcore/tokenizer/unicode.h"

namespace lamina::tokenizer {

const char* const kGpt2SplitRegex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

struct Range {
  size_t begin;
  size_t end;
  bool is_match;
};

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

Behavior parse_behavior(const std::string& name, const std::string& where) {
  if (name == "Removed") return Behavior::kRemoved;
  if (name == "Isolated") return Behavior::kIsolated;
  if (name == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::kMergedWithNext;
  if (name == "Contiguous") return Behavior::kContiguous;
  fail(where, "unknown split behavior '" + name + "'");
}

// Alternating match / non-match ranges covering [0, size) given the sorted matches.
std::vector<Range> cover(const std::vector<std::pair<size_t, size_t>>& matches, size_t size) {
  std::vector<Range> ranges;
  size_t last = 0;
  for (const auto& [begin, end] : matches) {
    if (last < begin) ranges.push_back({last, begin, false});
    ranges.push_back({begin, end, true});
    last = end;
  }
  if (last < size) ranges.push_back({last, size, false});
  return ranges;
}

// The [begin, end) ranges that become pieces under `behavior`.
std::vector<std::pair<size_t, size_t>> apply_behavior(const std::vector<Range>& ranges,
                                                      Behavior behavior) {
  std::vector<std::pair<size_t, size_t>> out;
  switch (behavior) {
    case Behavior::kRemoved:
      for (const auto& r : ranges) {
        if (!r.is_match) out.emplace_back(r.begin, r.end);
      }
      break;
    case Behavior::kIsolated:
      for (const auto& r : ranges) out.emplace_back(r.begin, r.end);
      break;
    case Behavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const auto& r : ranges) {
        if (r.is_match && !previous_match && !out.empty()) {
          out.back().second = r.end;
        } else {
          out.emplace_back(r.begin, r.end);
        }
        previous_match = r.is_match;
      }
      break;
    }
    case Behavior::kMergedWithNext: {
      bool previous_match = false;
      for (auto it = ranges.rbegin(); it != ranges.rend(); ++it) {
        if (it->is_match && !previous_match && !out.empty()) {
          out.back().first = it->begin;
        } else {
          out.emplace_back(it->begin, it->end);
        }
        previous_match = it->is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
    }
    case Behavior::kContiguous: {
      bool previous_match = false;
      for (const auto& r : ranges) {
        if (r.is_match == previous_match && !out.empty()) {
          out.back().second = r.end;
        } else {
          out.emplace_back(r.begin, r.end);
        }
        previous_match = r.is_match;
      }
      break;
    }
  }
  return out;
}

// Splits every piece with `find` (match ranges of a text) and `behavior`.
void split_pieces(
    std::vector<Piece>& pieces,
    const std::function<std::vector<std::pair<size_t, size_t>>(const std::string&)>& find,
    Behavior behavior, bool invert) {
  std::vector<Piece> out;
  out.reserve(pieces.size());
  for (auto& piece : pieces) {
    auto ranges = cover(find(piece.text), piece.text.size());
    if (invert) {
      for (auto& r : ranges) r.is_match = !r.is_match;
    }
    for (const auto& [begin, end] : apply_behavior(ranges, behavior)) {
      if (end > begin) {
        out.push_back({piece.text.substr(begin, end - begin), piece.at_start && begin == 0});
      }
    }
  }
  pieces = std::move(out);
}

// One match per character for which `predicate` holds.
std::vector<std::pair<size_t, size_t>> char_matches(
    const std::string& text, const std::function<bool(uint32_t)>& predicate) {
  std::vector<std::pair<size_t, size_t>> matches;
  size_t i = 0;
  while (i < text.size()) {
    const size_t begin = i;
    const uint32_t cp = next_code_point(text, i);
    if (predicate(cp)) matches.emplace_back(begin, i);
  }
  return matches;
}

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex, const std::string& where)
      : add_prefix_space_(add_prefix_space) {
    if (use_regex) regex_.emplace(kGpt2SplitRegex, where);
  }
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    if (add_prefix_space_) {
      for (auto& piece : pieces) {
        if (piece.text.empty() || piece.text[0] != ' ') piece.text.insert(0, " ");
      }
    }
    if (regex_) {
      split_pieces(
          pieces, [this](const std::string& text) { return regex_->find_all(text); },
          Behavior::kIsolated, false);
    }
    const auto& table = byte_to_unicode();
    for (auto& piece : pieces) {
      std::string mapped;
      mapped.reserve(piece.text.size() * 2);
      for (const char c : piece.text) mapped += table[static_cast<unsigned char>(c)];
      piece.text = std::move(mapped);
    }
  }

 private:
  bool add_prefix_space_;
  std::optional<Regex> regex_;
};

class Split : public PreTokenizer {
 public:
  Split(const std::string& regex, Behavior behavior, bool invert, const std::string& where)
      : regex_(regex, where), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(
        pieces, [this](const std::string& text) { return regex_.find_all(text); }, behavior_,
        invert_);
  }

 private:
  Regex regex_;
  Behavior behavior_;
  bool invert_;
};

class CharSplit : public PreTokenizer {
 public:
  CharSplit(std::function<bool(uint32_t)> predicate, Behavior behavior)
      : predicate_(std::move(predicate)), behavior_(behavior) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(
        pieces, [this](const std::string& text) { return char_matches(text, predicate_); },
        behavior_, false);
  }

 private:
  std::function<bool(uint32_t)> predicate_;
  Behavior behavior_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

class Metaspace : public PreTokenizer {
 public:
  Metaspace(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    for (auto& piece : pieces) {
      std::string replaced;
      replaced.reserve(piece.text.size() + replacement_.size());
      for (const char c : piece.text) {
        if (c == ' ') {
          replaced += replacement_;
        } else {
          replaced += c;
        }
      }
      const bool starts = replaced.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts && (scheme_ == PrependScheme::kAlways ||
                      (scheme_ == PrependScheme::kFirst && piece.at_start))) {
        replaced.insert(0, replacement_);
      }
      piece.text = std::move(replaced);
    }
    if (split_) {
      const std::string& rep = replacement_;
      split_pieces(
          pieces,
          [&rep](const std::string& text) {
            std::vector<std::pair<size_t, size_t>> matches;
            for (size_t pos = text.find(rep); pos != std::string::npos;
                 pos = text.find(rep, pos + rep.size())) {
              matches.emplace_back(pos, pos + rep.size());
            }
            return matches;
          },
          Behavior::kMergedWithNext, false);
    }
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    for (const auto& step : steps_) step->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

std::unique_ptr<PreTokenizer> make_metaspace(const Json& json, const std::string& where) {
  std::string replacement = optional_string(json, "replacement", "", where);
  if (replacement.empty()) replacement = optional_string(json, "str_rep", "\xE2\x96\x81", where);
  size_t i = 0;
  next_code_point(replacement, i);
  if (i != replacement.size()) fail(where, "'replacement' must be one character");
  PrependScheme scheme = PrependScheme::kAlways;
  if (json.contains("prepend_scheme") && !json["prepend_scheme"].is_null()) {
    const std::string name = require_string(json, "prepend_scheme", where);
    if (name == "always") {
      scheme = PrependScheme::kAlways;
    } else if (name == "first") {
      scheme = PrependScheme::kFirst;
    } else if (name == "never") {
      scheme = PrependScheme::kNever;
    } else {
      fail(where, "unknown prepend_scheme '" + name + "'");
    }
  } else if (!optional_bool(json, "add_prefix_space", true, where)) {
    scheme = PrependScheme::kNever;
  }
  return std::make_unique<Metaspace>(replacement, scheme,
                                     optional_bool(json, "split", true, where));
}

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& json, const std::string& where) {
  if (json.is_null()) return nullptr;
  const std::string type = component_type(json, where);
  const std::string here = where + " (" + type + ")";
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevel>(optional_bool(json, "add_prefix_space", true, here),
                                       optional_bool(json, "use_regex", true, here), here);
  }
  if (type == "Split") {
    return std::make_unique<Split>(pattern_to_regex(require_field(json, "pattern", here), here),
                                   parse_behavior(require_string(json, "behavior", here), here),
                                   optional_bool(json, "invert", false, here), here);
  }
  if (type == "Metaspace") return make_metaspace(json, here);
  if (type == "Whitespace") {
    return std::make_unique<Split>(R"(\w+|[^\w\s]+)", Behavior::kRemoved, true, here);
  }
  if (type == "WhitespaceSplit") {
    return std::make_unique<CharSplit>(is_whitespace, Behavior::kRemoved);
  }
  if (type == "Digits") {
    if (optional_bool(json, "individual_digits", false, here)) {
      return std::make_unique<CharSplit>(is_numeric, Behavior::kIsolated);
    }
    return std::make_unique<CharSplit>(is_numeric, Behavior::kContiguous);
  }
  if (type == "Punctuation") {
    return std::make_unique<CharSplit>(
        is_punctuation, parse_behavior(optional_string(json, "behavior", "Isolated", here), here));
  }
  if (type == "CharDelimiterSplit") {
    const std::string delimiter = require_string(json, "delimiter", here);
    size_t i = 0;
    if (delimiter.empty()) fail(here, "'delimiter' must be one character");
    const uint32_t cp = next_code_point(delimiter, i);
    return std::make_unique<CharSplit>([cp](uint32_t c) { return c == cp; }, Behavior::kRemoved);
  }
  if (type == "BertPreTokenizer") {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    steps.push_back(std::make_unique<CharSplit>(is_whitespace, Behavior::kRemoved));
    steps.push_back(std::make_unique<CharSplit>(is_punctuation, Behavior::kIsolated));
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  if (type == "Sequence") {
    const Json& list = require_field(json, "pretokenizers", here);
    if (!list.is_array()) fail(here, "'pretokenizers' must be a list");
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (size_t i = 0; i < list.size(); ++i) {
      auto step = make_pre_tokenizer(list[i], where + ".pretokenizers[" + std::to_string(i) + "]");
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  fail(where, "pre_tokenizer type '" + type + "' is not supported");
}

}  // namespace lamina::tokenizer
