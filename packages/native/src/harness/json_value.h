// A small JSON value, reader and writer for the executor protocol (child_executor.cpp): replies are one JSON
// object a line, a few fields each, so a full library would be more code to carry than this.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace etok::harness::json {

class Value {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };

  Value() = default;
  static Value boolean(bool b);
  static Value number(double d);
  static Value string(std::string s);
  static Value array(std::vector<Value> items);
  static Value object(std::map<std::string, Value> fields);

  Type type() const { return type_; }
  bool isNull() const { return type_ == Type::Null; }
  bool isObject() const { return type_ == Type::Object; }
  bool isArray() const { return type_ == Type::Array; }
  bool isNumber() const { return type_ == Type::Number; }
  bool isString() const { return type_ == Type::String; }
  bool isBool() const { return type_ == Type::Bool; }

  bool asBool() const { return bool_; }
  double asNumber() const { return number_; }
  const std::string& asString() const { return string_; }
  const std::vector<Value>& items() const { return items_; }
  const std::map<std::string, Value>& fields() const { return fields_; }

  /** The field, or a null value when absent (or when this is not an object). */
  const Value& operator[](const std::string& key) const;
  bool has(const std::string& key) const { return fields_.count(key) > 0; }

  /** Convenience readers with a fallback for absent or mistyped fields. */
  std::string stringOr(const std::string& key, const std::string& fallback) const;
  double numberOr(const std::string& key, double fallback) const;
  bool boolOr(const std::string& key, bool fallback) const;

 private:
  Type type_ = Type::Null;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Value> items_;
  std::map<std::string, Value> fields_;
};

/** Parses one JSON text; throws std::runtime_error naming the offset of the first error. */
Value parse(const std::string& text);

/** A JSON string literal (quotes and escapes included). */
std::string quote(const std::string& s);

/** Serialises a value (numbers with 17 significant digits; NaN and infinities as null). */
std::string write(const Value& v);

}  // namespace etok::harness::json
