// The chat-template engine statement by statement: every case's expected text was checked
// against jinja2 3.1 configured as transformers configures it (trim_blocks, lstrip_blocks,
// loop controls, json.dumps tojson); plus syntax errors and the limits on hostile templates.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <string>

#include "libcore/error.h"
#include "libcore/tokenizer/jinja_template.h"

namespace lamina::tokenizer::jinja {
namespace {

struct Case {
  const char* name;
  const char* source;
  const char* expected;
};

const Case kCases[] = {
    {"Literals",
     "{{ 1.0 }} {{ 1e20 }} {{ 0.1+0.2 }} {{ 1e-5 }} {{ [1,\"a\",none,true,(1,)] }} {{ {\"a\":1} }} "
     "{{ 1_000 }} {{ 1/3 }}",
     "1.0 1e+20 0.30000000000000004 1e-05 [1, 'a', None, True, (1,)] {'a': 1} 1000 "
     "0.3333333333333333"},
    {"StringEscapes",
     "{{ 'it\\'s' }} {{ \"q\\\"q\" }} {{ 'a\\tb' }} {{ '\\u00e9' }} {{ 'x' 'y' }} {{ ['it\\'s', "
     "'a\"b', 'c'] }}",
     "it's q\"q a\tb é xy [\"it's\", 'a\"b', 'c']"},
    {"Arithmetic",
     "{{ 7//2 }} {{ -7//2 }} {{ -7 % 3 }} {{ 2**3**2 }} {{ 10 / 4 }} {{ 4/2 }} {{ 1 + 2 * 3 - 4 / "
     "2 }} {{ (1 + 2) * 3 }} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ - 2 ** 2 }}",
     "3 -4 2 64 2.5 2.0 5.0 9 0.5 3.0 4"},
    {"Concat",
     "{{ \"a\" ~ 1 ~ none ~ true ~ 1.5 }} {{ \"x\" * 3 }} {{ [1] + [2] }} {{ (1,) + (2,) }} {{ "
     "\"%s-%d\" % (\"a\", 3) }} {{ \"%.2f\" % 3.14159 }}",
     "a1NoneTrue1.5 xxx [1, 2] (1, 2) a-3 3.14"},
    {"Comparisons",
     "{{ 1 < 2 < 3 }} {{ 3 > 2 > 5 }} {{ 1 == 1.0 }} {{ \"a\" != \"b\" }} {{ not 1 }} {{ 1 and 2 "
     "}} {{ 0 or \"x\" }} {{ none or [] }}",
     "True False True True False 2 x []"},
    {"Membership",
     "{{ \"a\" in \"cat\" }} {{ 1 in [1] }} {{ \"k\" in {\"k\":1} }} {{ 1 not in [1] }}",
     "True True True False"},
    {"Conditional",
     "{{ \"a\" if true else \"b\" }} {{ \"a\" if false else \"b\" if false else \"c\" }} {{ x if x "
     "is defined else \"nope\" }}|{{ 1 if false }}|",
     "a c 1||"},
    {"Slicing",
     "{{ \"abc\"[::-1] }} {{ msgs[1:3] }} {{ msgs[::2] }} {{ msgs[::-1] }} {{ \"héllo\"[1:3] }} {{ "
     "msgs[-2:] }} {{ msgs[:-1] }} {{ \"abc\"[-1] }} {{ msgs[10] }}",
     "cba [2, 3] [1, 3] [4, 3, 2, 1] él [3, 4] [1, 2, 3] c "},
    {"AttributeAndItem",
     "{{ people[0].name }} {{ people[0][\"age\"] }} {{ people.0.name }} {{ d.a }} {{ d[\"b\"] }}",
     "Ann 40 Ann [1, 'é'] 1"},
    {"Undefined",
     "[{{ nothing }}]{{ nothing is defined }}{{ nothing is undefined }}{{ nothing|length }}{{ "
     "nothing|list }}{% for a in nothing %}x{% endfor %}",
     "[]FalseTrue0[]"},
    {"IfElifElse",
     "{% if false %}a{% elif true %}b{% else %}c{% endif %}{% if none %}x{% elif 0 %}y{% else "
     "%}z{% endif %}",
     "bz"},
    {"ForLoopVariables",
     "{% for m in msgs %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ "
     "loop.length }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.previtem|default(\"-\") }}{{ "
     "loop.nextitem|default(\"-\") }} {% endfor %}",
     "10TrueFalse443-2 21FalseFalse43213 32FalseFalse42124 43FalseTrue4103- "},
    {"ForFilterAndElse",
     "{% for x in [3,1,2] if x > 1 %}{{ loop.index }}/{{loop.length}}:{{ x }} {% else %}none{% "
     "endfor %}{% for x in [] %}a{% else %}empty{% endfor %}",
     "1/2:3 2/2:2 empty"},
    {"ForUnpacking",
     "{% for k, v in d.items() %}{{k}}={{v}} {% endfor %}{% for a, b in [[1, 2], [3, 4]] %}{{ a "
     "}}{{ b }}{% endfor %} {% for c in \"ab\" %}{{ c }}.{% endfor %}{% for k in d %}{{ k }}{% "
     "endfor %}",
     "b=1 a=[1, 'é'] 1234 a.b.ba"},
    {"BreakContinue",
     "{% for m in msgs %}{% if m == 2 %}{% continue %}{% endif %}{% if m == 4 %}{% break %}{% "
     "endif %}{{ m }}{% endfor %}",
     "13"},
    {"LoopScoping",
     "{% set x = 0 %}{% for i in range(3) %}{{x}}{% set x = x + i + 1 %}{{ x }};{% endfor %}{{ x "
     "}}",
     "01;02;03;0"},
    {"Namespace",
     "{% set ns = namespace(c=0, found=false) %}{% for i in range(5) %}{% set ns.c = ns.c + i %}{% "
     "endfor %}{{ ns.c }} {{ ns.found }} {{ ns }}",
     "10 False <Namespace {'c': 10, 'found': False}>"},
    {"SetUnpackingAndBlocks",
     "{% set a, b = [1, 2] %}{{ a }}{{ b }}{% set s %}block {{ 1 }}{% endset %}[{{ s }}]{% set y | "
     "upper %}abc{% endset %}{{ y }}",
     "12[block 1]ABC"},
    {"Macros",
     "{% macro f(a, b=2, c=\"x\") %}{{ a }}{{ b }}{{ c }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ "
     "f(1) }} {{ f(1, c=3) }} {{ f(1,2,3,4,z=5) }}",
     "12x(){} 123(){} 123(4,){'z': 5}"},
    {"RecursiveMacro",
     "{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(5) }}",
     "54321"},
    {"CallBlock",
     "{% macro w() %}<{{ caller() }}>{% endmacro %}{% call w() %}inside{% endcall %}{% macro v() "
     "%}<{{ caller(1, 2) }}>{% endmacro %}{% call(a, b) v() %}{{ a + b }}{% endcall %}",
     "<inside><3>"},
    {"FilterBlockAndWith",
     "{% filter upper %}hello {{ \"x\" }}{% endfilter %} {% with a = 1, b = 2 %}{{ a + b }}{% "
     "endwith %}[{{ a }}]",
     "HELLO X 3[]"},
    {"Raw", "  {% raw %}  x {{ y }}\n  {% endraw %}\nz", "  x {{ y }}\nz"},
    {"Comments", "a  {# c #}\n  b\n   {#- c -#}   \n  d", "a    bd"},
    {"TrimAndLstripBlocks", "a\n  {% if true %}\n  b\n  {% endif %}\n  c\n", "a\n  b\n  c"},
    {"PlusModifiers", "x {%+ if true %}y{% endif +%}\nz", "x y\nz"},
    {"MinusModifiers", "{{- \"  a  \" -}}  {{ \"b\" }} \n  {%- if true -%}  c  {%- endif -%} \n d",
     "  a  bcd"},
    {"IndentedTemplate",
     "{% for m in msgs %}\n    {% if m is odd %}\n        odd {{ m }}\n    {% else %}\n        "
     "even {{ m }}\n    {% endif %}\n{% endfor %}\n",
     "        odd 1\n        even 2\n        odd 3\n        even 4\n"},
    {"TrailingNewlineDropped", "{{ 'x' }}\n\n", "x\n"},
    {"CrLfNormalized", "a\r\nb\r\n{% if true %}\r\nc\r\n{% endif %}\r\n", "a\nb\nc\n"},
    {"DictLiteralInsideOutput", "{{ {\"a\": {\"b\": 1}} }}", "{'a': {'b': 1}}"},
    {"FiltersLength",
     "{{ msgs|length }} {{ msgs|count }} {{ \"héllo\"|length }} {{ msgs|first }} {{ msgs|last }} "
     "{{ msgs|sum }} {{ msgs|max }} {{ msgs|min }} {{ msgs|reverse|list }} {{ "
     "msgs|sort(reverse=true) }}",
     "4 4 5 1 4 10 4 1 [4, 3, 2, 1] [4, 3, 2, 1]"},
    {"FiltersStrings",
     "{{ \"Hello\"|lower }} {{ \"hello\"|upper }} {{ \"hELLO wORLD\"|capitalize }} {{ \"a-b "
     "c\"|title }} {{ \"hello\"|replace(\"l\", \"L\") }} {{ \"hello\"|replace(\"l\", \"L\", 1) }} "
     "{{ \"héllo\"|upper }} {{ \"they're\"|title }}",
     "hello HELLO Hello world A-B C heLLo heLlo HÉLLO They're"},
    {"FiltersTrim", "{{ \"  x  \"|trim }}|{{ \"xxhixx\"|trim(\"x\") }}|{{ \" \\n x \\t\"|trim }}|",
     "x|hi|x|"},
    {"FiltersTojson",
     "{{ d|tojson }} {{ d|tojson(indent=2) }} {{ \"é\\n\\\"<>&'\"|tojson }} {{ [1, 2.5, none, "
     "true]|tojson }} {{ d|tojson(sort_keys=true) }} {{ d|tojson(separators=(\",\", \":\")) }} {{ "
     "{}|tojson(indent=2) }}",
     "{\"b\": 1, \"a\": [1, \"é\"]} {\n  \"b\": 1,\n  \"a\": [\n    1,\n    \"é\"\n  ]\n} "
     "\"é\\n\\\"<>&'\" [1, 2.5, null, true] {\"a\": [1, \"é\"], \"b\": 1} "
     "{\"b\":1,\"a\":[1,\"é\"]} {}"},
    {"FiltersDefault",
     "{{ u|default(\"dflt\") }} {{ \"\"|default(\"e\", true) }} {{ \"\"|d(\"e\") }} {{ "
     "none|default(\"n\") }} {{ 0|default(5, boolean=true) }}",
     "dflt e  None 5"},
    {"FiltersSelectMap",
     "{{ people|selectattr(\"age\", \"gt\", 30)|map(attribute=\"name\")|join(\",\") }} {{ "
     "people|rejectattr(\"name\", \"equalto\", \"Bob\")|map(attribute=\"name\")|list }} {{ "
     "people|selectattr(\"admin\")|list|length }} {{ people|map(attribute=\"missing\", "
     "default=\"z\")|list }} {{ [1,2,3,4]|select(\"odd\")|list }} {{ "
     "[1,2,3,4]|reject(\"even\")|list }}",
     "Ann ['Ann'] 1 ['z', 'z'] [1, 3] [1, 3]"},
    {"FiltersSortUnique",
     "{{ people|sort(attribute=\"age\")|map(attribute=\"name\")|join }} {{ "
     "[\"b\",\"A\",\"c\"]|sort }} {{ [\"b\",\"A\",\"a\"]|unique|list }} {{ "
     "[3,1]|map(\"string\")|join(\"-\") }}",
     "BobAnn ['A', 'b', 'c'] ['b', 'A'] 3-1"},
    {"FiltersNumbers",
     "{{ 3.0|round }} {{ 3.14159|round(2) }} {{ 2.5|round }} {{ -3|abs }} {{ \"3\"|int + 1 }} {{ "
     "\"x\"|int }} {{ 3|float }} {{ 2.675|round(2) }} {{ \"4.7\"|int }} {{ 3.9|int }}",
     "3.0 3.14 2.0 3 4 0 3.0 2.67 4 3"},
    {"FiltersIndent",
     "{{ \"line1\\nline2\\n\\nline4\"|indent(2) }}|{{ \"a\\nb\"|indent(2, true) }}|{{ "
     "\"a\\n\\nb\"|indent(2, blank=true) }}|{{ \"a\\nb\"|indent(\"> \") }}",
     "line1\n  line2\n\n  line4|  a\n  b|a\n  \n  b|a\n> b"},
    {"FiltersMisc",
     "{{ d|items|list }} {{ d|dictsort }} {{ msgs|batch(3)|list }} {{ [1,2,3]|batch(2, 0)|list }} "
     "{{ \"Hello World\"|wordcount }} {{ \"<a>\"|escape }} {{ \"x\"|safe }} {{ 5|string ~ \"\" }} "
     "{{ [1, 2]|join }}",
     "[('b', 1), ('a', [1, 'é'])] [('a', [1, 'é']), ('b', 1)] [[1, 2, 3], [4]] [[1, 2], [3, 0]] 2 "
     "&lt;a&gt; x 5 12"},
    {"Tests",
     "{{ x is defined }} {{ none is none }} {{ \"s\" is string }} {{ 1 is number }} {{ 1 is "
     "integer }} {{ 1.0 is float }} {{ d is mapping }} {{ msgs is iterable }} {{ msgs is sequence "
     "}} {{ true is boolean }} {{ true is true }} {{ false is false }} {{ 3 is odd }} {{ 4 is even "
     "}} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 1 is eq 1 }} {{ \"a\" is equalto "
     "\"a\" }} {{ 2 is gt 1 }} {{ 1 is in [1] }} {{ x is not none }}",
     "True True True True True True True True True True True True True True True False True True "
     "True True True"},
    {"StringMethods",
     "{{ \"abc\".startswith(\"a\") }} {{ \"abc\".endswith((\"x\", \"c\")) }} {{ "
     "\"abc\".find(\"c\") }} {{ \"abc\".upper() }} {{ \"a-b\".split(\"-\")[1] }} {{ \" a b "
     "\".split() }} {{ \"a b c\".split(\" \", 1) }} {{ \"a b c\".rsplit(\" \", 1) }} {{ "
     "\"--x--\".strip(\"-\") }} {{ \"  x \".lstrip() }}| {{ \"they're\".title() }} {{ \"{} is "
     "{x}\".format(1, x=2) }}",
     "True True 2 ABC b ['a', 'b'] ['a', 'b c'] ['a b', 'c'] x x | They'Re 1 is 2"},
    {"DictAndListMethods",
     "{{ d.get(\"a\") }} {{ d.get(\"zz\", 5) }} {{ d.get(\"zz\") }} {{ d.keys()|list }} {{ "
     "d.values()|list }} {{ msgs.index(3) }} {{ msgs.count(1) }}",
     "[1, 'é'] 5 None ['b', 'a'] [1, [1, 'é']] 2 1"},
    {"Globals",
     "{{ range(3)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }} {{ dict(a=1, b=2) "
     "}} {% set j = joiner(\", \") %}{% for v in [1,2,3] %}{{ j() }}{{ v }}{% endfor %} {% for v "
     "in [1,2,3] %}{{ loop.cycle(\"a\", \"b\") }}{% endfor %}",
     "[0, 1, 2] [1, 4, 7] [5, 3, 1] {'a': 1, 'b': 2} 1, 2, 3 aba"},
    {"Strftime", "{{ strftime_now(\"%Y-%m-%d\") }} {{ strftime_now(\"%d %b %Y\") }}",
     "2023-11-14 14 Nov 2023"},
    {"Printing",
     "{{ true }} {{ True }} {{ None }} {{ d }} {{ (1, 2) }} {{ () }} {{ [\"x\\ny\", \"é\"] }}",
     "True True None {'b': 1, 'a': [1, 'é']} (1, 2) () ['x\\ny', 'é']"},
};

RenderOptions fixed_clock() {
  RenderOptions options;
  options.clock = [] { return std::chrono::system_clock::from_time_t(1700000000); };
  return options;
}

nlohmann::ordered_json context() {
  return nlohmann::ordered_json::parse(
      R"({"x": 1, "msgs": [1, 2, 3, 4], "d": {"b": 1, "a": [1, "é"]},
      "people": [{"name": "Ann", "age": 40, "admin": true}, {"name": "Bob", "age": 25}]})");
}

std::string render(const std::string& source,
                   const nlohmann::ordered_json& ctx = nlohmann::ordered_json::object(),
                   const RenderOptions& options = {}) {
  return Template(source).render(ctx, options);
}

// Default limits, but without the wall-clock safety net, which a loaded machine could
// trip before the deterministic limit under test.
RenderOptions deterministic_limits() {
  RenderOptions options;
  options.limits.max_seconds = 1e9;
  return options;
}

// The lamina::Error message of rendering `source`, or "" when it renders.
std::string error_of(const std::string& source,
                     const RenderOptions& options = deterministic_limits()) {
  try {
    render(source, nlohmann::ordered_json::object(), options);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Jinja, MatchesJinja2OnEveryCase) {
  setenv("TZ", "UTC", 1);
  tzset();
  for (const Case& c : kCases)
    EXPECT_EQ(render(c.source, context(), fixed_clock()), c.expected) << c.name;
}

TEST(Jinja, ValuesRoundTripThroughJson) {
  auto json = nlohmann::ordered_json::parse(R"({"z": [1, 2.5, "s", null, true], "a": {"k": {}}})");
  EXPECT_EQ(Value::from_json(json).to_json(), json);
  EXPECT_EQ(render("{% for k in v %}{{ k }}{% endfor %}", {{"v", json}}), "za");
}

TEST(Jinja, RaiseExceptionBecomesError) {
  std::string message =
      error_of("{% if true %}{{ raise_exception('Only user and assistant roles!') }}{% endif %}");
  EXPECT_NE(message.find("Only user and assistant roles!"), std::string::npos) << message;
}

TEST(Jinja, ParseErrorsNameTheLine) {
  EXPECT_NE(error_of("a\nb\n{{ 1 + }}").find("line 3"), std::string::npos);
  EXPECT_NE(error_of("{% for x in y %}\n{{ x }}").find("line 1: unclosed block"),
            std::string::npos);
  EXPECT_NE(error_of("\n\n\n{% endif %}").find("line 4: unexpected 'endif'"), std::string::npos);
  EXPECT_NE(error_of("{% include 'x' %}").find("not supported"), std::string::npos);
  EXPECT_NE(error_of("x\n{{ 'unterminated }}").find("line 2"), std::string::npos);
  EXPECT_NE(error_of("{% break %}").find("outside of a for loop"), std::string::npos);
  EXPECT_NE(error_of("{# never closed").find("unclosed comment"), std::string::npos);
}

TEST(Jinja, RuntimeErrorsNameTheLine) {
  EXPECT_NE(error_of("\n{{ 1 + 'a' }}").find("line 2"), std::string::npos);
  EXPECT_NE(error_of("{{ x | nosuchfilter }}").find("no filter named 'nosuchfilter'"),
            std::string::npos);
  EXPECT_NE(error_of("{{ nosuchfunction() }}").find("'nosuchfunction' is undefined"),
            std::string::npos);
  EXPECT_NE(error_of("{{ [1].append(2) }}").find("unsafe"), std::string::npos);
  EXPECT_NE(error_of("{% set x = 1 %}{% set x.a = 2 %}").find("namespace"), std::string::npos);
  EXPECT_NE(error_of("{{ 1 // 0 }}").find("division"), std::string::npos);
}

// Hostile templates stop with a clear error, quickly, whatever limit they hit first.
// Measured in CPU time: the build machines are shared, wall time says little.
void expect_fast_failure(const std::string& source, const std::string& expected_message) {
  std::clock_t start = std::clock();
  std::string message = error_of(source);
  double seconds = static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
  EXPECT_NE(message.find(expected_message), std::string::npos) << source << "\n -> " << message;
  // Bounded, not timed: the limits stop it long before it could run for minutes (the
  // generous bound leaves room for sanitizer builds and a loaded machine).
  EXPECT_LT(seconds, 20.0) << source;
}

TEST(Jinja, HugeLoopsAreBounded) {
  expect_fast_failure(
      "{% set r = range(100000) %}{% for a in r %}{% for b in r %}{% endfor %}{% endfor %}",
      "loop iterations");
  expect_fast_failure(
      "{% set r = range(100000) %}{% for a in r %}{% for b in r %}{% set y = b %}{{ '' }}"
      "{% endfor %}{% endfor %}",
      "loop iterations");
  expect_fast_failure("{{ range(10000000) | length }}", "range() too big");
  expect_fast_failure("{% for a in range(100000) %}{% set x = range(100000) %}{% endfor %}",
                      "list elements");
}

TEST(Jinja, ExponentialOutputIsBounded) {
  expect_fast_failure(
      "{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}"
      "{% endfor %}",
      "bytes");
  expect_fast_failure("{{ 'x' * 1000000000000 }}", "bytes");
  expect_fast_failure("{% for a in range(100000) %}{{ 'abcdefghij' * 1000 }}{% endfor %}",
                      "output exceeds");
  expect_fast_failure(
      "{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}"
      "{% endfor %}",
      "list elements");
  expect_fast_failure("{{ 'a'|replace('', 'aaaaaaaaaa' * 1000000)|replace('a', 'aaaaaaaaaa') }}",
                      "bytes");
}

TEST(Jinja, DeepRecursionIsBounded) {
  expect_fast_failure("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
                      "nested deeper than 100");
  expect_fast_failure(
      "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
      "{{ f(60) }}",
      "macro calls");
  expect_fast_failure("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}",
                      "nested deeper");
  std::string long_chain = "{{ 1";
  for (int i = 0; i < 5000; ++i) long_chain += " + 1";
  expect_fast_failure(long_chain + " }}", "nested deeper");
  std::string nested_ifs;
  for (int i = 0; i < 5000; ++i) nested_ifs += "{% if true %}";
  expect_fast_failure(nested_ifs, "nested deeper");
  expect_fast_failure(
      "{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = [ns.l] %}"
      "{% endfor %}",
      "nested deeper");
  expect_fast_failure("{% set ns = namespace() %}{% set ns.self = ns %}", "can only hold data");
}

TEST(Jinja, WallClockSafetyNet) {
  RenderOptions options;
  options.limits.max_loop_iterations = INT64_MAX;
  options.limits.max_seconds = 0.05;
  EXPECT_NE(
      error_of(
          "{% set r = range(100000) %}{% for a in r %}{% for b in r %}{% endfor %}{% endfor %}",
          options)
          .find("took longer than"),
      std::string::npos);
}

TEST(Jinja, LimitsAreConfigurable) {
  RenderOptions options;
  options.limits.max_loop_iterations = 10;
  EXPECT_NE(error_of("{% for i in range(11) %}{% endfor %}", options).find("10 loop iterations"),
            std::string::npos);
  EXPECT_EQ(error_of("{% for i in range(10) %}{% endfor %}", options), "");
  options.limits.max_output_bytes = 5;
  EXPECT_NE(error_of("{{ 'abcdef' }}", options).find("output exceeds 5 bytes"), std::string::npos);
}

}  // namespace
}  // namespace lamina::tokenizer::jinja
