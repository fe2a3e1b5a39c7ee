// Post-processors (see post_processor.h). Only single sequences are handled: lamina never
// encodes sentence pairs.
#include "libcore/tokenizer/post_processor.h"

namespace lamina::tokenizer {
namespace {

// TemplateProcessing's "single" template, flattened: each item is either the sequence
// (empty ids, is_sequence) or the ids of one special token.
class TemplatePostProcessor : public PostProcessor {
 public:
  struct Item {
    bool is_sequence = false;
    std::vector<int32_t> ids;
  };
  explicit TemplatePostProcessor(std::vector<Item> items) : items_(std::move(items)) {}
  void process(std::vector<int32_t>& ids) const override {
    std::vector<int32_t> out;
    out.reserve(ids.size() + items_.size());
    for (const auto& item : items_) {
      if (item.is_sequence) {
        out.insert(out.end(), ids.begin(), ids.end());
      } else {
        out.insert(out.end(), item.ids.begin(), item.ids.end());
      }
    }
    ids = std::move(out);
  }

 private:
  std::vector<Item> items_;
};

// Roberta / Bert: CLS + sequence + SEP.
class WrapPostProcessor : public PostProcessor {
 public:
  WrapPostProcessor(int32_t cls, int32_t sep) : cls_(cls), sep_(sep) {}
  void process(std::vector<int32_t>& ids) const override {
    ids.insert(ids.begin(), cls_);
    ids.push_back(sep_);
  }

 private:
  int32_t cls_;
  int32_t sep_;
};

class SequencePostProcessor : public PostProcessor {
 public:
  explicit SequencePostProcessor(std::vector<std::unique_ptr<PostProcessor>> steps)
      : steps_(std::move(steps)) {}
  void process(std::vector<int32_t>& ids) const override {
    for (const auto& step : steps_) step->process(ids);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

// The ids of special token `name` in TemplateProcessing's "special_tokens" map.
std::vector<int32_t> special_ids(const Json& specials, const std::string& name,
                                 const std::string& where) {
  if (!specials.is_object() || !specials.contains(name)) {
    fail(where, "template uses special token '" + name + "' missing from 'special_tokens'");
  }
  const Json& ids = require_field(specials[name], "ids", where);
  if (!ids.is_array()) fail(where, "'ids' of special token '" + name + "' must be a list");
  std::vector<int32_t> out;
  for (const auto& id : ids) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      fail(where, "'ids' of special token '" + name + "' must be non-negative integers");
    }
    out.push_back(static_cast<int32_t>(id.get<int64_t>()));
  }
  return out;
}

std::unique_ptr<PostProcessor> make_template(const Json& json, const std::string& where) {
  const Json& single = require_field(json, "single", where);
  const Json specials = json.contains("special_tokens") ? json["special_tokens"] : Json::object();
  std::vector<TemplatePostProcessor::Item> items;
  auto add_piece = [&](const std::string& piece) {
    // String form: "$A", "$A:0", "$0", "[CLS]", "[CLS]:0".
    const size_t colon = piece.rfind(':');
    const std::string name =
        colon != std::string::npos && colon > 0 ? piece.substr(0, colon) : piece;
    if (!name.empty() && name[0] == '$') {
      items.push_back({true, {}});
    } else {
      items.push_back({false, special_ids(specials, name, where)});
    }
  };
  if (single.is_string()) {
    const std::string text = single.get<std::string>();
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t space = text.find(' ', pos);
      const size_t end = space == std::string::npos ? text.size() : space;
      if (end > pos) add_piece(text.substr(pos, end - pos));
      pos = end + 1;
    }
  } else if (single.is_array()) {
    for (const auto& item : single) {
      if (item.is_string()) {
        add_piece(item.get<std::string>());
      } else if (item.is_object() && item.contains("Sequence")) {
        items.push_back({true, {}});
      } else if (item.is_object() && item.contains("SpecialToken")) {
        items.push_back(
            {false,
             special_ids(specials, require_string(item["SpecialToken"], "id", where), where)});
      } else {
        fail(where, "template items must be {\"Sequence\": ...} or {\"SpecialToken\": ...}");
      }
    }
  } else {
    fail(where, "'single' must be a list or a string");
  }
  return std::make_unique<TemplatePostProcessor>(std::move(items));
}

int32_t token_id_of_pair(const Json& json, const char* key, const std::string& where) {
  const Json& pair = require_field(json, key, where);
  if (!pair.is_array() || pair.size() != 2 || !pair[1].is_number_integer() ||
      pair[1].get<int64_t>() < 0 || pair[1].get<int64_t>() > INT32_MAX) {
    fail(where, std::string("'") + key + "' must be [token, id]");
  }
  return static_cast<int32_t>(pair[1].get<int64_t>());
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const Json& json, const std::string& where) {
  if (json.is_null()) return nullptr;
  const std::string type = component_type(json, where);
  const std::string here = where + " (" + type + ")";
  if (type == "ByteLevel") return nullptr;  // only trims offsets, which lamina does not track
  if (type == "TemplateProcessing") return make_template(json, here);
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    return std::make_unique<WrapPostProcessor>(token_id_of_pair(json, "cls", here),
                                               token_id_of_pair(json, "sep", here));
  }
  if (type == "Sequence") {
    const Json& list = require_field(json, "processors", here);
    if (!list.is_array()) fail(here, "'processors' must be a list");
    std::vector<std::unique_ptr<PostProcessor>> steps;
    for (size_t i = 0; i < list.size(); ++i) {
      auto step = make_post_processor(list[i], where + ".processors[" + std::to_string(i) + "]");
      if (step) steps.push_back(std::move(step));
    }
    if (steps.empty()) return nullptr;
    return std::make_unique<SequencePostProcessor>(std::move(steps));
  }
  fail(where, "post_processor type '" + type + "' is not supported");
}

}  // namespace lamina::tokenizer
