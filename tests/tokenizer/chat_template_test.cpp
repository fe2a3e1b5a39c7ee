// Chat templates of the test models rendered as transformers renders them (reference.json
// "chat" entries), plus template loading from model directories.
#include "libcore/tokenizer/chat_template.h"
#include "libcore/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "libcore/error.h"
#include "tests/test_util.h"

namespace lamina::tokenizer {
namespace {

nlohmann::ordered_json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::ordered_json::parse(in);
}

TEST(ChatTemplate, MatchesReferenceRenderingsOfEveryModel) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(test::testdata("models"))) {
    std::string dir = entry.path().string();
    if (!std::filesystem::exists(entry.path() / "reference.json")) continue;
    auto reference = read_json((entry.path() / "reference.json").string());
    auto chat_template = load_chat_template(dir);
    if (!reference.contains("chat")) {
      continue;
    }
    ASSERT_TRUE(chat_template.has_value()) << dir;
    const auto& chat = reference["chat"];
    std::string text =
        apply_chat_template(*chat_template, chat["messages"],
                            chat.value("add_generation_prompt", true), load_special_tokens(dir));
    EXPECT_EQ(text, chat["text"].get<std::string>()) << dir;
    // apply_chat_template(tokenize=True) adds no special tokens of its own.
    auto ids = Tokenizer::load(dir).encode(text, false);
    EXPECT_EQ(ids, chat["ids"].get<std::vector<int32_t>>()) << dir;
    ++checked;
  }
  EXPECT_GE(checked, 7);
}

TEST(ChatTemplate, ModelWithoutTemplateHasNone) {
  EXPECT_FALSE(load_chat_template(test::testdata("models/stories260k")).has_value());
}

TEST(ChatTemplate, SpecialTokensAsStringsOrContentObjects) {
  std::string dir = test::temp_dir("chat_template_special_tokens");
  std::ofstream(dir + "/tokenizer_config.json")
      << R"({"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>", "pad_token": null,
            "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]})";
  auto tokens = load_special_tokens(dir);
  EXPECT_EQ(tokens["bos_token"], "<s>");
  EXPECT_EQ(tokens["eos_token"], "</s>");
  EXPECT_FALSE(tokens.contains("pad_token"));
  EXPECT_EQ(load_chat_template(dir).value(), "D");
  EXPECT_EQ(load_chat_template(dir, "tool_use").value(), "T");
  EXPECT_THROW(load_chat_template(dir, "missing"), Error);
}

TEST(ChatTemplate, TemplateStringInTokenizerConfig) {
  std::string dir = test::temp_dir("chat_template_in_config");
  std::ofstream(dir + "/tokenizer_config.json")
      << R"({"chat_template": "{{ messages[0].content }}!"})";
  auto source = load_chat_template(dir);
  ASSERT_TRUE(source.has_value());
  EXPECT_EQ(apply_chat_template(
                *source, nlohmann::json::parse(R"([{"role": "user", "content": "hi"}])"), false),
            "hi!");
}

// The tokenizers/ test directories carry templates but no reference renderings; these
// expected texts were written by hand from the templates.
TEST(ChatTemplate, TokenizerDirectoryTemplates) {
  auto messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": " Hi "},
      {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye"}])");
  std::string llama2 = load_chat_template(test::testdata("tokenizers/llama2")).value();
  EXPECT_EQ(apply_chat_template(llama2, messages, true,
                                load_special_tokens(test::testdata("tokenizers/llama2"))),
            "<s>[INST] Hi [/INST] Hello </s><s>[INST] Bye [/INST]");
  std::string chatml = load_chat_template(test::testdata("tokenizers/gpt2")).value();
  EXPECT_EQ(apply_chat_template(chatml, messages, true),
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n Hi "
            "<|im_end|>\n"
            "<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>"
            "assistant\n");
}

TEST(ChatTemplate, RaiseExceptionCarriesTheTemplateMessage) {
  std::string llama2 = load_chat_template(test::testdata("tokenizers/llama2")).value();
  auto messages = nlohmann::json::parse(R"([{"role": "assistant", "content": "x"}])");
  try {
    apply_chat_template(llama2, messages, true);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "Conversation roles must alternate user/assistant/user/assistant/..."),
              std::string::npos)
        << e.what();
  }
}

TEST(ChatTemplate, ToolsAndDocumentsDefaultToNone) {
  std::string source = "{{ tools is none }} {{ documents is none }} {{ add_generation_prompt }}";
  EXPECT_EQ(apply_chat_template(source, nlohmann::json::array(), true), "True True True");
  auto extra = nlohmann::ordered_json::parse(R"({"tools": [{"name": "f", "a": 1}]})");
  EXPECT_EQ(
      apply_chat_template("{{ tools | tojson }}", nlohmann::ordered_json::array(), false, extra),
      R"([{"name": "f", "a": 1}])");
}

}  // namespace
}  // namespace lamina::tokenizer
