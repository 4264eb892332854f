// control/k8s/watch.h: cutting a watch body into lines however it was chunked, and parsing one
// line into an event (ref A3, A4).
#include "control/k8s/watch.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace control::k8s {
namespace {

// Two events as the API server writes them; the second holds a multi-byte UTF-8 annotation
// ("é" is 2 bytes, "€" 3, "𝄞" 4), so some split points fall inside a character.
const std::string kEvent1 =
    R"({"type":"ADDED","object":{"kind":"Service","metadata":{"name":"a","namespace":"demo","resourceVersion":"7"}}})";
const std::string kEvent2 =
    "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Service\",\"metadata\":{\"name\":\"b\","
    "\"annotations\":{\"note\":\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9D\x84\x9E\"},"
    "\"resourceVersion\":\"8\"}}}";

std::vector<std::string> cut(const std::vector<std::string>& pieces, LineCutter* c) {
  std::vector<std::string> lines;
  std::string error;
  for (const auto& p : pieces) {
    EXPECT_TRUE(c->feed(p, &lines, &error)) << error;
  }
  return lines;
}

TEST(LineCutter, SplitAtEveryByteOffsetGivesTheSameTwoEvents) {
  const std::string body = kEvent1 + "\n" + kEvent2 + "\n";
  for (size_t i = 0; i <= body.size(); ++i) {
    for (size_t j = i; j <= body.size(); j += 7) {  // a second cut, 7 bytes apart
      LineCutter c;
      auto lines = cut({body.substr(0, i), body.substr(i, j - i), body.substr(j)}, &c);
      ASSERT_EQ(lines.size(), 2u) << "cuts at " << i << "," << j;
      EXPECT_EQ(lines[0], kEvent1);
      EXPECT_EQ(lines[1], kEvent2) << "cuts at " << i << "," << j;
      EXPECT_EQ(c.pending(), 0u);
      WatchEvent ev;
      std::string error;
      ASSERT_TRUE(parse_watch_event(lines[1], &ev, &error)) << error;
      EXPECT_EQ(ev.object["metadata"]["annotations"]["note"].get<std::string>(),
                "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9D\x84\x9E");
    }
  }
}

TEST(LineCutter, OneByteAtATime) {
  const std::string body = kEvent2 + "\n" + kEvent1 + "\n";
  LineCutter c;
  std::vector<std::string> pieces;
  for (char ch : body) pieces.emplace_back(1, ch);
  auto lines = cut(pieces, &c);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], kEvent2);
  EXPECT_EQ(lines[1], kEvent1);
}

TEST(LineCutter, SeveralEventsInOneChunkAndAPartialTail) {
  LineCutter c;
  std::vector<std::string> lines;
  std::string error;
  std::string chunk = kEvent1 + "\n" + kEvent2 + "\n" + kEvent1 + "\n" + kEvent2.substr(0, 10);
  ASSERT_TRUE(c.feed(chunk, &lines, &error));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2], kEvent1);
  EXPECT_EQ(c.pending(), 10u);
  ASSERT_TRUE(c.feed(kEvent2.substr(10) + "\n", &lines, &error));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[3], kEvent2);
  EXPECT_EQ(c.pending(), 0u);
}

TEST(LineCutter, BlankLinesAndCrlfAreSkipped) {
  LineCutter c;
  auto lines = cut({"\n\n", kEvent1 + "\r\n", "  \n\r\n", "\t\n" + kEvent2, "\n\n"}, &c);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], kEvent1);
  EXPECT_EQ(lines[1], kEvent2);
}

TEST(LineCutter, NothingBeforeTheNewline) {
  LineCutter c;
  auto lines = cut({kEvent1}, &c);
  EXPECT_TRUE(lines.empty());
  EXPECT_EQ(c.pending(), kEvent1.size());
}

TEST(LineCutter, TooLongLineIsAnErrorBeforeItsEnd) {
  LineCutter c(64);
  std::vector<std::string> lines;
  std::string error;
  ASSERT_TRUE(c.feed(std::string(40, 'x'), &lines, &error));
  EXPECT_FALSE(c.feed(std::string(40, 'x'), &lines, &error));  // 80 > 64, no newline yet
  EXPECT_NE(error.find("longer than 64"), std::string::npos) << error;
  // The stream is unusable from here on.
  error.clear();
  EXPECT_FALSE(c.feed("\n", &lines, &error));
  EXPECT_FALSE(error.empty());
  EXPECT_TRUE(lines.empty());
  c.reset();
  EXPECT_TRUE(c.feed("ok\n", &lines, &error));
  EXPECT_EQ(lines, std::vector<std::string>{"ok"});
}

TEST(LineCutter, TooLongLineInsideOneChunk) {
  LineCutter c(64);
  std::vector<std::string> lines;
  std::string error;
  EXPECT_FALSE(c.feed("short\n" + std::string(65, 'y') + "\nmore\n", &lines, &error));
  EXPECT_EQ(lines, std::vector<std::string>{"short"});
  // Exactly at the bound is fine.
  LineCutter d(64);
  lines.clear();
  EXPECT_TRUE(d.feed(std::string(64, 'z') + "\n", &lines, &error)) << error;
  EXPECT_EQ(lines.size(), 1u);
}

TEST(ParseWatchEvent, AllFiveTypes) {
  struct Case {
    const char* type;
    WatchEvent::Type want;
  } cases[] = {{"ADDED", WatchEvent::Type::kAdded},
               {"MODIFIED", WatchEvent::Type::kModified},
               {"DELETED", WatchEvent::Type::kDeleted},
               {"BOOKMARK", WatchEvent::Type::kBookmark},
               {"ERROR", WatchEvent::Type::kError}};
  for (const auto& c : cases) {
    WatchEvent ev;
    std::string error;
    std::string line = std::string(R"({"type":")") + c.type + R"(","object":{"kind":"X"}})";
    ASSERT_TRUE(parse_watch_event(line, &ev, &error)) << c.type << ": " << error;
    EXPECT_EQ(ev.type, c.want);
    EXPECT_EQ(ev.object["kind"], "X");
  }
}

TEST(ParseWatchEvent, BadInputIsAClearErrorThatDoesNotQuoteTheData) {
  struct Case {
    std::string line;
    std::string want;  // in the message
  } cases[] = {
      {R"({"type":"ADDED","object":{"data":{"token":"c2VjcmV0LXZhbHVl"})", "bad JSON at byte"},
      {R"({"type":"ADDED","object":{"data":"hunter2" garbage}})", "bad JSON at byte"},
      {"\xFF\xFE", "bad JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"object":{}})", "no \"type\""},
      {R"({"type":7,"object":{}})", "no \"type\""},
      {R"({"type":"RENAMED","object":{}})", "unknown type \"RENAMED\""},
      {R"({"type":"added","object":{}})", "unknown type"},
      {R"({"type":"ADDED"})", "no \"object\""},
      {R"({"type":"ADDED","object":"x"})", "no \"object\""},
      {R"({"type":"DELETED","object":null})", "no \"object\""},
  };
  for (const auto& c : cases) {
    WatchEvent ev;
    std::string error;
    EXPECT_FALSE(parse_watch_event(c.line, &ev, &error)) << c.line;
    EXPECT_NE(error.find(c.want), std::string::npos) << c.line << " -> " << error;
    EXPECT_EQ(error.find("c2VjcmV0"), std::string::npos) << error;
    EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
  }
}

TEST(ParseWatchEvent, DeeplyNestedInputDoesNotCrash) {
  std::string deep = R"({"type":"ADDED","object":{"x":)" + std::string(100000, '[') +
                     std::string(100000, ']') + "}}";
  WatchEvent ev;
  std::string error;
  // Either answer is acceptable; not crashing is the point.
  (void)parse_watch_event(deep, &ev, &error);
  std::string unterminated = R"({"type":"ADDED","object":{"x":)" + std::string(100000, '[');
  EXPECT_FALSE(parse_watch_event(unterminated, &ev, &error));
}

}  // namespace
}  // namespace control::k8s
