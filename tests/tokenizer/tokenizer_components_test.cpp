// Tokenizer component tests on small hand-written tokenizer.json pieces: pre-tokenizer
// split behaviours and regexes, normalizers, decoders, added-token flags, BPE options,
// legacy add_bos_token, and malformed files.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "libcore/error.h"
#include "libcore/tokenizer/decoder.h"
#include "libcore/tokenizer/normalizer.h"
#include "libcore/tokenizer/pre_tokenizer.h"
#include "libcore/tokenizer/tokenizer.h"
#include "tests/test_util.h"

using lamina::tokenizer::Piece;
using lamina::tokenizer::Tokenizer;
using Json = nlohmann::json;
using Strings = std::vector<std::string>;

namespace {

Strings pre_tokenize(const Json& json, const std::string& text, bool at_start = true) {
  auto pre = lamina::tokenizer::make_pre_tokenizer(json, "test");
  std::vector<Piece> pieces = {{text, at_start}};
  pre->pre_tokenize(pieces);
  Strings out;
  for (const auto& p : pieces) out.push_back(p.text);
  return out;
}

std::string normalize(const Json& json, std::string text) {
  lamina::tokenizer::make_normalizer(json, "test")->normalize(text);
  return text;
}

std::string decode_tokens(const Json& json, Strings tokens) {
  lamina::tokenizer::make_decoder(json, "test")->decode_chain(tokens);
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

Json split(const std::string& regex, const std::string& behavior, bool invert = false) {
  return {{"type", "Split"},
          {"pattern", {{"Regex", regex}}},
          {"behavior", behavior},
          {"invert", invert}};
}

// Throws unless building a tokenizer from `json` fails with a message containing `expected`.
void expect_load_error(const std::string& json, const std::string& expected) {
  try {
    Tokenizer::from_json_text(json, "");
    ADD_FAILURE() << "no error for " << json;
  } catch (const lamina::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("tokenizer.json"), std::string::npos) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
}

}  // namespace

TEST(TokenizerPreTokenizers, SplitBehaviours) {
  EXPECT_EQ(pre_tokenize(split("\\s+", "Removed"), "a  b c"), (Strings{"a", "b", "c"}));
  EXPECT_EQ(pre_tokenize(split("\\s+", "Isolated"), "a  b c"), (Strings{"a", "  ", "b", " ", "c"}));
  EXPECT_EQ(pre_tokenize(split("\\s+", "MergedWithPrevious"), "a  b c"),
            (Strings{"a  ", "b ", "c"}));
  EXPECT_EQ(pre_tokenize(split("\\s+", "MergedWithNext"), "a  b c"), (Strings{"a", "  b", " c"}));
  EXPECT_EQ(pre_tokenize(split("\\s", "Contiguous"), "a  b c"),
            (Strings{"a", "  ", "b", " ", "c"}));
  EXPECT_EQ(pre_tokenize(split("\\w+", "Removed", true), "ab, cd"), (Strings{"ab", "cd"}));
  const Json literal = {
      {"type", "Split"}, {"pattern", {{"String", "."}}}, {"behavior", "Isolated"}};
  EXPECT_EQ(pre_tokenize(literal, "a.b*c"), (Strings{"a", ".", "b*c"}));
}

TEST(TokenizerPreTokenizers, Llama3AndQwen2Regexes) {
  const std::string llama3 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  EXPECT_EQ(pre_tokenize(split(llama3, "Isolated"), "I'M 12345 hello\n\n  world"),
            (Strings{"I", "'M", " ", "123", "45", " hello", "\n\n", " ", " world"}));
  const std::string qwen2 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  EXPECT_EQ(pre_tokenize(split(qwen2, "Isolated"), "x=42; naïve"),
            (Strings{"x", "=", "4", "2", ";", " naïve"}));
}

TEST(TokenizerPreTokenizers, OtherTypes) {
  EXPECT_EQ(pre_tokenize({{"type", "Digits"}, {"individual_digits", true}}, "ab123c"),
            (Strings{"ab", "1", "2", "3", "c"}));
  EXPECT_EQ(pre_tokenize({{"type", "Digits"}, {"individual_digits", false}}, "ab123c"),
            (Strings{"ab", "123", "c"}));
  EXPECT_EQ(pre_tokenize({{"type", "Whitespace"}}, "Hey friend!  How?"),
            (Strings{"Hey", "friend", "!", "How", "?"}));
  EXPECT_EQ(pre_tokenize({{"type", "WhitespaceSplit"}}, " a\tb  c "), (Strings{"a", "b", "c"}));
  EXPECT_EQ(pre_tokenize({{"type", "Punctuation"}}, "a,b!!"), (Strings{"a", ",", "b", "!", "!"}));
  const Json metaspace = {{"type", "Metaspace"},
                          {"replacement", "\xE2\x96\x81"},
                          {"prepend_scheme", "first"},
                          {"split", true}};
  EXPECT_EQ(pre_tokenize(metaspace, "hello world"),
            (Strings{"\xE2\x96\x81hello", "\xE2\x96\x81world"}));
  EXPECT_EQ(pre_tokenize(metaspace, "hello world", false), (Strings{"hello", "\xE2\x96\x81world"}));
  const Json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  EXPECT_EQ(pre_tokenize(byte_level, "Hi you"), (Strings{"\xC4\xA0Hi", "\xC4\xA0you"}));
  const Json sequence = {
      {"type", "Sequence"},
      {"pretokenizers", {{{"type", "WhitespaceSplit"}}, {{"type", "Punctuation"}}}}};
  EXPECT_EQ(pre_tokenize(sequence, "a, b"), (Strings{"a", ",", "b"}));
}

TEST(TokenizerNormalizers, AllTypes) {
  EXPECT_EQ(normalize({{"type", "NFC"}}, "e\xCC\x81"), "\xC3\xA9");
  EXPECT_EQ(normalize({{"type", "NFD"}}, "\xC3\xA9"), "e\xCC\x81");
  EXPECT_EQ(normalize({{"type", "NFKC"}}, "\xEF\xAC\x81"), "fi");
  EXPECT_EQ(normalize({{"type", "NFKD"}}, "\xC3\xA9\xEF\xAC\x81"),
            "e\xCC\x81"
            "fi");
  EXPECT_EQ(normalize({{"type", "Lowercase"}},
                      "\xC3\x80"
                      "B \xC4\xB0"),
            "\xC3\xA0"
            "b i\xCC\x87");
  EXPECT_EQ(
      normalize({{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}}, " \t x \xC2\xA0"),
      "x");
  EXPECT_EQ(normalize({{"type", "Strip"}, {"strip_left", false}, {"strip_right", true}}, " x "),
            " x");
  EXPECT_EQ(
      normalize({{"type", "Replace"}, {"pattern", {{"Regex", " +"}}}, {"content", "_"}}, "a  b c"),
      "a_b_c");
  const Json llama = {
      {"type", "Sequence"},
      {"normalizers",
       {{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
        {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}}}};
  EXPECT_EQ(normalize(llama, "hi there"), "\xE2\x96\x81hi\xE2\x96\x81there");
  EXPECT_EQ(normalize(llama, ""), "");
}

TEST(TokenizerDecoders, AllTypes) {
  const Json metaspace = {
      {"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "always"}};
  EXPECT_EQ(decode_tokens(metaspace, {"\xE2\x96\x81Hello", "\xE2\x96\x81world"}), "Hello world");
  const Json strip = {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 1}};
  EXPECT_EQ(decode_tokens(strip, {"  a  "}), " a ");
  EXPECT_EQ(decode_tokens({{"type", "ByteFallback"}}, {"<0xF0>", "a", "<0xC3>", "<0xA9>"}),
            "\xEF\xBF\xBD"
            "a\xC3\xA9");
  EXPECT_EQ(decode_tokens({{"type", "ByteLevel"}}, {"\xC4\xA0Hi", "!"}), " Hi!");
  EXPECT_EQ(
      decode_tokens({{"type", "BPEDecoder"}, {"suffix", "</w>"}}, {"hel", "lo</w>", "you</w>"}),
      "hello you");
}

TEST(TokenizerBpe, SubwordPrefixUnkAndIgnoreMerges) {
  const Json base = {{"model",
                      {{"type", "BPE"},
                       {"vocab", {{"a", 0}, {"##b", 1}, {"ab", 2}, {"<unk>", 3}}},
                       {"merges", Json::array({Json::array({"a", "##b"})})},
                       {"unk_token", "<unk>"},
                       {"continuing_subword_prefix", "##"},
                       {"fuse_unk", true}}}};
  const auto fused = Tokenizer::from_json_text(base.dump(), "");
  EXPECT_EQ(fused.encode("ab"), (std::vector<int32_t>{2}));
  EXPECT_EQ(fused.encode("abxx"), (std::vector<int32_t>{2, 3}));
  Json unfused = base;
  unfused["model"]["fuse_unk"] = false;
  EXPECT_EQ(Tokenizer::from_json_text(unfused.dump(), "").encode("abxx"),
            (std::vector<int32_t>{2, 3, 3}));

  Json ignore = {{"model",
                  {{"type", "BPE"},
                   {"vocab", {{"a", 0}, {"b", 1}, {"c", 2}, {"abc", 3}, {"ab", 4}}},
                   {"merges", {"a b"}},
                   {"ignore_merges", true}}}};
  EXPECT_EQ(Tokenizer::from_json_text(ignore.dump(), "").encode("abc"), (std::vector<int32_t>{3}));
  ignore["model"]["ignore_merges"] = false;
  EXPECT_EQ(Tokenizer::from_json_text(ignore.dump(), "").encode("abc"),
            (std::vector<int32_t>{4, 2}));
}

TEST(TokenizerAddedTokens, StripAndSingleWordFlags) {
  Json json = {
      {"model",
       {{"type", "BPE"},
        {"vocab", {{"a", 0}, {"b", 1}, {" ", 2}, {"[", 3}, {"w", 4}, {"]", 5}}},
        {"merges", Json::array()}}},
      {"added_tokens",
       {{{"id", 10}, {"content", "<x>"}, {"lstrip", true}, {"rstrip", true}, {"special", true}},
        {{"id", 11}, {"content", "[w]"}, {"single_word", true}, {"special", false}},
        {{"id", 12}, {"content", "<x><x>"}, {"special", true}}}}};
  const auto tokenizer = Tokenizer::from_json_text(json.dump(), "");
  EXPECT_EQ(tokenizer.encode("a <x> b"), (std::vector<int32_t>{0, 10, 1}));
  EXPECT_EQ(tokenizer.encode("a<x><x>b"), (std::vector<int32_t>{0, 12, 1}));  // longest first
  EXPECT_EQ(tokenizer.encode("a [w] b"), (std::vector<int32_t>{0, 2, 11, 2, 1}));
  EXPECT_EQ(tokenizer.encode("a[w]b"), (std::vector<int32_t>{0, 3, 4, 5, 1}));
  EXPECT_EQ(tokenizer.decode({0, 10, 11}), "a <x> [w]");  // no decoder: tokens joined by spaces
  EXPECT_EQ(tokenizer.decode({0, 10, 11}, true), "a [w]");
}

TEST(TokenizerPostProcessing, LegacyAddBosAndEos) {
  const Json json = {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}}}, {"merges", Json::array()}}},
                     {"added_tokens",
                      {{{"id", 1}, {"content", "<s>"}, {"special", true}},
                       {{"id", 2}, {"content", "</s>"}, {"special", true}}}}};
  const Json config = {{"bos_token", {{"content", "<s>"}}},
                       {"eos_token", "</s>"},
                       {"add_bos_token", true},
                       {"add_eos_token", true}};
  const auto tokenizer = Tokenizer::from_json_text(json.dump(), config.dump());
  EXPECT_EQ(tokenizer.encode("aa"), (std::vector<int32_t>{1, 0, 0, 2}));
  EXPECT_EQ(tokenizer.encode("aa", false), (std::vector<int32_t>{0, 0}));
  // A template that already adds BOS is not doubled.
  Json with_template = json;
  with_template["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single",
       {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
        {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
      {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}};
  EXPECT_EQ(Tokenizer::from_json_text(with_template.dump(), config.dump()).encode("a"),
            (std::vector<int32_t>{1, 0, 2}));
}

TEST(TokenizerErrors, MalformedFiles) {
  const std::string model = R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []})";
  expect_load_error("{not json", "invalid JSON");
  expect_load_error("[]", "top level");
  expect_load_error("{}", "missing field 'model'");
  expect_load_error(R"({"model": {"type": "Unigram", "vocab": []}})",
                    "model type 'Unigram' is not supported");
  expect_load_error(R"({"model": {"type": "BPE", "vocab": [], "merges": []}})",
                    "'vocab' must be an object");
  expect_load_error(R"({"model": {"type": "BPE", "vocab": {"a": "x"}, "merges": []}})",
                    "vocab entry 'a'");
  expect_load_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})",
                    "not in the vocab");
  expect_load_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [5]}})", "merges[0]");
  expect_load_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}}})", "missing field 'merges'");
  expect_load_error("{" + model + R"(, "pre_tokenizer": {"type": "Fancy"}})",
                    "pre_tokenizer type 'Fancy'");
  expect_load_error("{" + model + R"(, "normalizer": {"type": "Precompiled"}})",
                    "normalizer type 'Precompiled'");
  expect_load_error("{" + model + R"(, "decoder": {"type": "CTC"}})", "decoder type 'CTC'");
  expect_load_error("{" + model + R"(, "decoder": {"kind": "x"}})", "missing field 'type'");
  expect_load_error(
      "{" + model +
          R"(, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>"}}]}})",
      "special token '<s>'");
  expect_load_error(
      "{" + model +
          R"(, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(("}, "behavior": "Isolated"}})",
      "invalid regex");
  expect_load_error("{" + model + R"(, "added_tokens": [{"id": -3, "content": "x"}]})",
                    "added_tokens[0]");
  expect_load_error("{" + model + R"(, "added_tokens": [{"id": 3, "content": 7}]})",
                    "'content' must be a string");

  // Files on disk: errors name the file.
  const std::string dir = lamina::test::temp_dir("tokenizer_errors");
  EXPECT_THROW(Tokenizer::load(dir), lamina::Error);  // no tokenizer.json
  std::ofstream(dir + "/tokenizer.json") << R"({"model": {"type": "WordPiece", "vocab": {}}})";
  try {
    Tokenizer::load(dir);
    ADD_FAILURE() << "WordPiece loaded";
  } catch (const lamina::Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/tokenizer.json: model"), std::string::npos)
        << e.what();
  }
  std::ofstream(dir + "/tokenizer.json", std::ios::trunc) << "{" << model << "}";
  std::ofstream(dir + "/tokenizer_config.json") << "{oops";
  try {
    Tokenizer::load(dir);
    ADD_FAILURE() << "bad config loaded";
  } catch (const lamina::Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer_config.json: invalid JSON"), std::string::npos)
        << e.what();
  }
}
