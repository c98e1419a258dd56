#include "harness/json_value.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace etok::harness::json {

Value Value::boolean(bool b) {
  Value v;
  v.type_ = Type::Bool;
  v.bool_ = b;
  return v;
}

Value Value::number(double d) {
  Value v;
  v.type_ = Type::Number;
  v.number_ = d;
  return v;
}

Value Value::string(std::string s) {
  Value v;
  v.type_ = Type::String;
  v.string_ = std::move(s);
  return v;
}

Value Value::array(std::vector<Value> items) {
  Value v;
  v.type_ = Type::Array;
  v.items_ = std::move(items);
  return v;
}

Value Value::object(std::map<std::string, Value> fields) {
  Value v;
  v.type_ = Type::Object;
  v.fields_ = std::move(fields);
  return v;
}

const Value& Value::operator[](const std::string& key) const {
  static const Value null;
  const auto it = fields_.find(key);
  return it == fields_.end() ? null : it->second;
}

std::string Value::stringOr(const std::string& key, const std::string& fallback) const {
  const Value& v = (*this)[key];
  return v.isString() ? v.asString() : fallback;
}

double Value::numberOr(const std::string& key, double fallback) const {
  const Value& v = (*this)[key];
  return v.isNumber() ? v.asNumber() : fallback;
}

bool Value::boolOr(const std::string& key, bool fallback) const {
  const Value& v = (*this)[key];
  return v.isBool() ? v.asBool() : fallback;
}

namespace {

class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}

  Value document() {
    Value v = value(0);
    space();
    if (i_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("invalid JSON at offset " + std::to_string(i_) + ": " + what);
  }

  void space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) i_++;
  }

  bool consume(const char* word) {
    size_t n = 0;
    while (word[n]) n++;
    if (s_.compare(i_, n, word) != 0) return false;
    i_ += n;
    return true;
  }

  Value value(int depth) {
    if (depth > 64) fail("nested too deeply");
    space();
    if (i_ >= s_.size()) fail("unexpected end");
    const char c = s_[i_];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') return Value::string(string());
    if (consume("true")) return Value::boolean(true);
    if (consume("false")) return Value::boolean(false);
    if (consume("null")) return Value();
    return Value::number(number());
  }

  Value object(int depth) {
    std::map<std::string, Value> fields;
    i_++;  // {
    space();
    if (i_ < s_.size() && s_[i_] == '}') {
      i_++;
      return Value::object(std::move(fields));
    }
    while (true) {
      space();
      if (i_ >= s_.size() || s_[i_] != '"') fail("expected a key");
      std::string key = string();
      space();
      if (i_ >= s_.size() || s_[i_] != ':') fail("expected ':'");
      i_++;
      fields[key] = value(depth + 1);
      space();
      if (i_ < s_.size() && s_[i_] == ',') {
        i_++;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == '}') {
        i_++;
        return Value::object(std::move(fields));
      }
      fail("expected ',' or '}'");
    }
  }

  Value array(int depth) {
    std::vector<Value> items;
    i_++;  // [
    space();
    if (i_ < s_.size() && s_[i_] == ']') {
      i_++;
      return Value::array(std::move(items));
    }
    while (true) {
      items.push_back(value(depth + 1));
      space();
      if (i_ < s_.size() && s_[i_] == ',') {
        i_++;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == ']') {
        i_++;
        return Value::array(std::move(items));
      }
      fail("expected ',' or ']'");
    }
  }

  static void appendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  uint32_t hex4() {
    if (i_ + 4 > s_.size()) fail("short \\u escape");
    uint32_t cp = 0;
    for (int k = 0; k < 4; k++) {
      const char h = s_[i_++];
      cp <<= 4;
      if (h >= '0' && h <= '9') cp |= static_cast<uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') cp |= static_cast<uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') cp |= static_cast<uint32_t>(h - 'A' + 10);
      else fail("bad \\u escape");
    }
    return cp;
  }

  std::string string() {
    std::string out;
    i_++;  // opening quote
    while (true) {
      if (i_ >= s_.size()) fail("unterminated string");
      const char c = s_[i_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) fail("unterminated escape");
      const char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00 && s_.compare(i_, 2, "\\u") == 0) {
            i_ += 2;
            const uint32_t low = hex4();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          appendUtf8(out, cp);
          break;
        }
        default: fail("unknown escape");
      }
    }
  }

  double number() {
    const char* begin = s_.c_str() + i_;
    char* end = nullptr;
    const double d = std::strtod(begin, &end);
    if (end == begin) fail("expected a value");
    i_ += static_cast<size_t>(end - begin);
    return d;
  }

  const std::string& s_;
  size_t i_ = 0;
};

}  // namespace

Value parse(const std::string& text) { return Parser(text).document(); }

std::string quote(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c == '\n') {
      o += "\\n";
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else {
      o += static_cast<char>(c);
    }
  }
  return o + "\"";
}

std::string write(const Value& v) {
  switch (v.type()) {
    case Value::Type::Null: return "null";
    case Value::Type::Bool: return v.asBool() ? "true" : "false";
    case Value::Type::Number: {
      if (!std::isfinite(v.asNumber())) return "null";
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", v.asNumber());
      return buf;
    }
    case Value::Type::String: return quote(v.asString());
    case Value::Type::Array: {
      std::string o = "[";
      for (size_t i = 0; i < v.items().size(); i++) o += (i ? "," : "") + write(v.items()[i]);
      return o + "]";
    }
    case Value::Type::Object: {
      std::string o = "{";
      bool first = true;
      for (const auto& [k, x] : v.fields()) {
        o += (first ? "" : ",") + quote(k) + ":" + write(x);
        first = false;
      }
      return o + "}";
    }
  }
  return "null";
}

}  // namespace etok::harness::json
