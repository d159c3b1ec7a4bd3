#include "visbone/core/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/safetensors_files.h"
#include "visbone/core/errors.h"

namespace visbone {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::safetensors_bytes;
using testing::TempDir;

constexpr const char* kName = "bad.safetensors";

template <typename T>
std::string bytes_of(std::initializer_list<T> values) {
  std::string s(values.size() * sizeof(T), '\0');
  std::size_t i = 0;
  for (const T v : values) std::memcpy(s.data() + sizeof(T) * i++, &v, sizeof(T));
  return s;
}

// The FormatError message from reading `bytes`; records a failure when they are accepted.
std::string rejection(const std::string& bytes) {
  try {
    SafetensorsFile::from_bytes(bytes, kName);
  } catch (const FormatError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted a malformed file";
  return {};
}

// One F32 tensor "w" of shape [2] holding 8 bytes: the well-formed base the malformed cases vary.
const std::string kGoodEntry = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
std::string entry(const std::string& dtype, const std::string& shape, const std::string& offsets,
                  const std::string& name = "w") {
  return "\"" + name + "\":{\"dtype\":" + dtype + ",\"shape\":" + shape + ",\"data_offsets\":" + offsets +
         "}";
}

// "{inner}", built by appending: GCC 12 warns falsely (-Wrestrict) on some "{" + std::string expressions.
std::string braces(const std::string& inner) {
  std::string s(1, '{');
  s += inner;
  s += '}';
  return s;
}

// --- one test per rejection rule -----------------------------------------------------------------------

TEST(SafetensorsReader, RejectsFileShorterThanLengthPrefix) {
  EXPECT_THAT(rejection(""),
              AllOf(HasSubstr(kName), HasSubstr("0 bytes"), HasSubstr("shorter than the 8-byte")));
  EXPECT_THAT(rejection("1234567"), HasSubstr("7 bytes, shorter than the 8-byte"));
}

TEST(SafetensorsReader, RejectsHeaderLengthOverLimit) {
  std::string bytes(16, ' ');
  const std::uint64_t n = kSafetensorsMaxHeaderBytes + 1;
  std::memcpy(bytes.data(), &n, 8);
  EXPECT_THAT(rejection(bytes),
              AllOf(HasSubstr(kName), HasSubstr("header length 100000001 is over the limit")));
}

TEST(SafetensorsReader, RejectsHeaderPastEndOfFile) {
  std::string bytes = safetensors_bytes("{}");
  bytes.pop_back();  // the header now claims one byte more than there is
  EXPECT_THAT(rejection(bytes),
              AllOf(HasSubstr(kName), HasSubstr("header length 2 runs past the end of the file")));
  // A length near 2^64 must not wrap around in the check.
  std::string huge(8, '\xff');
  huge += "{}";
  EXPECT_THAT(rejection(huge), HasSubstr("over the limit"));
}

TEST(SafetensorsReader, RejectsInvalidUtf8InHeader) {
  EXPECT_THAT(rejection(safetensors_bytes("{\"w\xff\":1}")),
              AllOf(HasSubstr(kName), HasSubstr("not valid UTF-8 (byte 3 of the header)")));
  // Overlong encoding of '/' and an encoded surrogate are invalid too.
  EXPECT_THAT(rejection(safetensors_bytes("{\"\xc0\xaf\":1}")), HasSubstr("not valid UTF-8"));
  EXPECT_THAT(rejection(safetensors_bytes("{\"\xed\xa0\x80\":1}")), HasSubstr("not valid UTF-8"));
  // Truncated sequence at the very end of the header.
  EXPECT_THAT(rejection(safetensors_bytes("{}\xe2\x82")), HasSubstr("not valid UTF-8 (byte 2"));
}

TEST(SafetensorsReader, RejectsInvalidJson) {
  EXPECT_THAT(rejection(safetensors_bytes("{\"w\":")), AllOf(HasSubstr(kName), HasSubstr("invalid JSON")));
  // Extensions that lenient parsers accept are errors here.
  EXPECT_THAT(rejection(safetensors_bytes("{\"a\":{},}")), HasSubstr("invalid JSON"));
  EXPECT_THAT(rejection(safetensors_bytes("{/*c*/}")), HasSubstr("invalid JSON"));
  EXPECT_THAT(rejection(safetensors_bytes("{}{}")), HasSubstr("invalid JSON"));
  EXPECT_THAT(rejection(safetensors_bytes("")), HasSubstr("invalid JSON"));
}

TEST(SafetensorsReader, RejectsDeeplyNestedHeaderWithoutCrashing) {
  EXPECT_THAT(rejection(safetensors_bytes("{\"__metadata__\":" + std::string(100000, '[') + "}")),
              HasSubstr("invalid JSON"));
}

TEST(SafetensorsReader, RejectsHeaderThatIsNotAnObject) {
  EXPECT_THAT(rejection(safetensors_bytes("[1, 2]")),
              AllOf(HasSubstr(kName), HasSubstr("header is a JSON array, expected an object")));
  EXPECT_THAT(rejection(safetensors_bytes("\"w\"")), HasSubstr("header is a JSON string"));
}

TEST(SafetensorsReader, RejectsTensorEntryThatIsNotAnObject) {
  EXPECT_THAT(rejection(safetensors_bytes(R"({"w": [1]})")),
              AllOf(HasSubstr("tensor 'w' is described by a array"), HasSubstr("expected an object")));
}

TEST(SafetensorsReader, RejectsUnknownDtype) {
  const auto bytes = safetensors_bytes(braces(entry("\"F8_E4M3\"", "[2]", "[0,2]")), std::string(2, '\0'));
  EXPECT_THAT(rejection(bytes),
              AllOf(HasSubstr(kName), HasSubstr("tensor 'w' has the unsupported dtype 'F8_E4M3'"),
                    HasSubstr("expected one of F64, F32, F16, BF16")));
  EXPECT_THAT(rejection(safetensors_bytes(braces(entry("\"f32\"", "[2]", "[0,8]")), std::string(8, '\0'))),
              HasSubstr("unsupported dtype 'f32'"));  // names are case-sensitive
}

TEST(SafetensorsReader, RejectsDtypeMissingOrNotString) {
  EXPECT_THAT(rejection(safetensors_bytes(R"({"w":{"shape":[0],"data_offsets":[0,0]}})")),
              HasSubstr("tensor 'w' has no dtype"));
  EXPECT_THAT(rejection(safetensors_bytes(braces(entry("4", "[0]", "[0,0]")))),
              HasSubstr("tensor 'w': dtype is a integer, expected a string"));
}

TEST(SafetensorsReader, RejectsNegativeShapeEntry) {
  EXPECT_THAT(
      rejection(safetensors_bytes(braces(entry("\"F32\"", "[2,-1]", "[0,0]")))),
      AllOf(HasSubstr(kName), HasSubstr("tensor 'w': shape entry 1 is -1, expected a non-negative integer")));
}

TEST(SafetensorsReader, RejectsNonIntegerShapeEntry) {
  EXPECT_THAT(rejection(safetensors_bytes(braces(entry("\"F32\"", "[2.0]", "[0,8]")), std::string(8, '\0'))),
              HasSubstr("tensor 'w': shape entry 0 is 2E0, expected a non-negative integer"));
  EXPECT_THAT(
      rejection(safetensors_bytes(braces(entry("\"F32\"", "[\"2\"]", "[0,8]")), std::string(8, '\0'))),
      HasSubstr("shape entry 0 is \"2\""));
  EXPECT_THAT(rejection(safetensors_bytes(braces(entry("\"F32\"", "[null]", "[0,8]")), std::string(8, '\0'))),
              HasSubstr("shape entry 0 is null"));
  EXPECT_THAT(rejection(safetensors_bytes(braces(entry("\"F32\"", "[18446744073709551615]", "[0,8]")))),
              HasSubstr("larger than any tensor can be"));
}

TEST(SafetensorsReader, RejectsShapeThatIsNotAnArray) {
  EXPECT_THAT(rejection(safetensors_bytes(braces(entry("\"F32\"", "2", "[0,8]")), std::string(8, '\0'))),
              HasSubstr("tensor 'w': shape is a integer, expected an array"));
  EXPECT_THAT(rejection(safetensors_bytes(R"({"w":{"dtype":"F32","data_offsets":[0,0]}})")),
              HasSubstr("tensor 'w' has no shape"));
}

TEST(SafetensorsReader, RejectsDataOffsetsNotTwoIntegers) {
  const std::string data(8, '\0');
  for (const char* bad : {"[0]", "[0,4,8]", "[]", "8", "{\"a\":0}", "[0,8.0]", "[\"0\",8]", "[0,null]"})
    EXPECT_THAT(rejection(safetensors_bytes(braces(entry("\"F32\"", "[2]", bad)), data)),
                AllOf(HasSubstr(kName), HasSubstr("tensor 'w': data_offsets is"),
                      HasSubstr("expected two non-negative integers [begin, end]")))
        << bad;
  EXPECT_THAT(rejection(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[0]}})")),
              HasSubstr("tensor 'w' has no data_offsets"));
}

TEST(SafetensorsReader, RejectsNegativeDataOffsets) {
  EXPECT_THAT(rejection(safetensors_bytes(braces(entry("\"F32\"", "[1]", "[-4,0]")), std::string(4, '\0'))),
              HasSubstr("tensor 'w': data_offsets is [-4,0], expected two non-negative integers"));
}

TEST(SafetensorsReader, RejectsDataOffsetsEndingBeforeTheyBegin) {
  EXPECT_THAT(rejection(safetensors_bytes(braces(entry("\"F32\"", "[0]", "[8,4]")), std::string(8, '\0'))),
              AllOf(HasSubstr(kName), HasSubstr("tensor 'w': data_offsets [8, 4] ends before it begins")));
}

TEST(SafetensorsReader, RejectsGapBetweenTensors) {
  const auto header =
      "{" + entry("\"F32\"", "[1]", "[0,4]", "a") + "," + entry("\"F32\"", "[1]", "[8,12]", "b") + "}";
  EXPECT_THAT(rejection(safetensors_bytes(header, std::string(12, '\0'))),
              AllOf(HasSubstr(kName), HasSubstr("gap in the data section: bytes [4, 8) belong to no tensor"),
                    HasSubstr("tensor 'b'")));
}

TEST(SafetensorsReader, RejectsDataSectionNotStartingAtZero) {
  EXPECT_THAT(rejection(safetensors_bytes(braces(entry("\"F32\"", "[1]", "[4,8]")), std::string(8, '\0'))),
              HasSubstr("bytes [0, 4) belong to no tensor"));
}

TEST(SafetensorsReader, RejectsOverlappingTensors) {
  const auto header =
      "{" + entry("\"F32\"", "[2]", "[0,8]", "a") + "," + entry("\"F32\"", "[2]", "[4,12]", "b") + "}";
  EXPECT_THAT(rejection(safetensors_bytes(header, std::string(12, '\0'))),
              AllOf(HasSubstr(kName), HasSubstr("tensor 'b' (data_offsets [4, 12]) overlaps tensor 'a'")));
  // Two tensors sharing the same bytes.
  const auto same =
      "{" + entry("\"F32\"", "[2]", "[0,8]", "a") + "," + entry("\"F32\"", "[2]", "[0,8]", "b") + "}";
  EXPECT_THAT(rejection(safetensors_bytes(same, std::string(8, '\0'))), HasSubstr("overlaps tensor 'a'"));
  // An empty tensor placed inside another one.
  const auto inside =
      "{" + entry("\"F32\"", "[2]", "[0,8]", "a") + "," + entry("\"F32\"", "[0]", "[4,4]", "z") + "}";
  EXPECT_THAT(rejection(safetensors_bytes(inside, std::string(8, '\0'))),
              HasSubstr("tensor 'z' (data_offsets [4, 4]) overlaps"));
}

// The tiling checks at their edges, with 1-byte tensors: a 1-byte gap and a 1-byte overlap are refused,
// tensors that touch are accepted, and a tensor 1 byte past the end is truncation.
TEST(SafetensorsReader, TilingChecksAtOneByte) {
  auto two = [](const std::string& a, const std::string& b) {
    return "{" + entry("\"U8\"", "[1]", a, "a") + "," + entry("\"U8\"", "[1]", b, "b") + "}";
  };
  EXPECT_THAT(rejection(safetensors_bytes(two("[0,1]", "[2,3]"), std::string(3, '\0'))),
              HasSubstr("gap in the data section: bytes [1, 2) belong to no tensor"));
  EXPECT_THAT(rejection(safetensors_bytes(braces(entry("\"U8\"", "[1]", "[1,2]")), std::string(2, '\0'))),
              HasSubstr("bytes [0, 1) belong to no tensor"));
  const auto overlap = "{" + entry("\"U8\"", "[2]", "[0,2]", "a") + "," + entry("\"U8\"", "[2]", "[1,3]", "b") + "}";
  EXPECT_THAT(rejection(safetensors_bytes(overlap, std::string(3, '\0'))),
              HasSubstr("tensor 'b' (data_offsets [1, 3]) overlaps tensor 'a', which ends at 2"));
  const auto f = SafetensorsFile::from_bytes(safetensors_bytes(two("[0,1]", "[1,2]"), "\x05\x07"), kName);
  EXPECT_EQ(f.load("a").data()[0], 5.0f);
  EXPECT_EQ(f.load("b").data()[0], 7.0f);
  EXPECT_THAT(rejection(safetensors_bytes(two("[0,1]", "[1,2]"), std::string(1, '\0'))),
              HasSubstr("tensor 'b' (data_offsets [1, 2]) runs past the end of the data section (1 bytes)"));
  EXPECT_THAT(rejection(safetensors_bytes(two("[0,1]", "[1,2]"), std::string(3, '\0'))),
              HasSubstr("1 trailing bytes"));
}

TEST(SafetensorsReader, RejectsByteSizeNotMatchingShapeAndDtype) {
  EXPECT_THAT(
      rejection(safetensors_bytes(braces(entry("\"F32\"", "[3]", "[0,8]")), std::string(8, '\0'))),
      AllOf(HasSubstr(kName), HasSubstr("tensor 'w' has 8 bytes (data_offsets [0, 8]) but shape [3] of "
                                        "dtype F32 needs 12")));
  EXPECT_THAT(rejection(safetensors_bytes(braces(entry("\"BF16\"", "[]", "[0,4]")), std::string(4, '\0'))),
              HasSubstr("shape [] of dtype BF16 needs 2"));
}

TEST(SafetensorsReader, RejectsShapeWhoseByteSizeOverflows) {
  // 2^32 * 2^32 elements wrap to 0 in 64 bits; they must not be taken for an empty tensor.
  EXPECT_THAT(
      rejection(safetensors_bytes(braces(entry("\"F32\"", "[4294967296,4294967296]", "[0,0]")))),
      AllOf(HasSubstr(kName), HasSubstr("tensor 'w': shape [4294967296, 4294967296] has more elements than "
                                        "fit in 64 bits")));
  // 2^62 F32 elements are 2^64 bytes, which wraps to 0 as well.
  EXPECT_THAT(rejection(safetensors_bytes(braces(entry("\"F32\"", "[4611686018427387904]", "[0,0]")))),
              HasSubstr("shape [4611686018427387904] of dtype F32 needs more than 2^64 bytes"));
  // Like the reference implementation, overflow is checked left to right, before a later 0 dim.
  EXPECT_THAT(rejection(safetensors_bytes(braces(entry("\"F32\"", "[4294967296,4294967296,0]", "[0,0]")))),
              HasSubstr("more elements than fit in 64 bits"));
}

TEST(SafetensorsReader, RejectsDataNotEndingAtEndOfFile) {
  EXPECT_THAT(
      rejection(safetensors_bytes(braces(kGoodEntry), std::string(10, '\0'))),
      AllOf(HasSubstr(kName), HasSubstr("the tensors end at byte 8 of the data section but it has 10 bytes: "
                                        "2 trailing bytes")));
  EXPECT_THAT(
      rejection(safetensors_bytes(braces(kGoodEntry), std::string(6, '\0'))),
      AllOf(HasSubstr("tensor 'w' (data_offsets [0, 8]) runs past the end of the data section (6 bytes)"),
            HasSubstr("truncated")));
  EXPECT_THAT(rejection(safetensors_bytes("{}", "x")), HasSubstr("1 trailing bytes"));
}

TEST(SafetensorsReader, RejectsDuplicateTensorNames) {
  const auto header = "{" + kGoodEntry + "," + entry("\"F32\"", "[0]", "[8,8]") + "}";
  EXPECT_THAT(rejection(safetensors_bytes(header, std::string(8, '\0'))),
              AllOf(HasSubstr(kName), HasSubstr("header has the key 'w' twice")));
  // Escapes spell the same key differently; the comparison is on the decoded name.
  const auto escaped = "{" + kGoodEntry + "," + entry("\"F32\"", "[0]", "[8,8]", "\\u0077") + "}";
  EXPECT_THAT(rejection(safetensors_bytes(escaped, std::string(8, '\0'))), HasSubstr("key 'w' twice"));
}

TEST(SafetensorsReader, RejectsDuplicateKeysInsideAnEntry) {
  const auto header = R"({"w":{"dtype":"F16","dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_THAT(rejection(safetensors_bytes(header, std::string(8, '\0'))),
              HasSubstr("header has the key 'dtype' twice inside 'w'"));
}

TEST(SafetensorsReader, RejectsUnknownKeyInEntry) {
  const auto header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"strides":[1]}})";
  EXPECT_THAT(rejection(safetensors_bytes(header, std::string(8, '\0'))),
              HasSubstr("tensor 'w' has the unknown key 'strides'"));
}

TEST(SafetensorsReader, RejectsMetadataThatIsNotStringToString) {
  EXPECT_THAT(rejection(safetensors_bytes(R"({"__metadata__":{"format":"pt","n":3}})")),
              AllOf(HasSubstr(kName), HasSubstr("__metadata__ entry 'n' is a integer, expected a string")));
  EXPECT_THAT(rejection(safetensors_bytes(R"({"__metadata__":["pt"]})")),
              HasSubstr("__metadata__ is a array, expected an object of string values"));
  EXPECT_THAT(rejection(safetensors_bytes(R"({"__metadata__":null})")), HasSubstr("__metadata__ is a null"));
  EXPECT_THAT(rejection(safetensors_bytes(R"({"__metadata__":{"a":"1","a":"2"}})")),
              HasSubstr("key 'a' twice inside '__metadata__'"));
}

// --- accepted files ----------------------------------------------------------------------------------

TEST(SafetensorsReader, ReadsTensorsInOffsetOrderWithMetadata) {
  // Header order differs from data order, and the header is space-padded as the reference writer does.
  const std::string header = "{\"__metadata__\":{\"format\":\"pt\"}," +
                             entry("\"F32\"", "[2]", "[4,12]", "b") + "," +
                             entry("\"F32\"", "[]", "[0,4]", "a") + "}   ";
  const auto f =
      SafetensorsFile::from_bytes(safetensors_bytes(header, bytes_of<float>({7.5f, 1.0f, -2.0f})), "m");
  EXPECT_EQ(f.name(), "m");
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.tensors()[0].name, "a");
  EXPECT_EQ(f.tensors()[1].name, "b");
  EXPECT_EQ(f.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));

  const Tensor a = f.load("a");  // a scalar: shape [] with one element
  EXPECT_EQ(a.shape(), Shape{});
  ASSERT_EQ(a.numel(), 1);
  EXPECT_EQ(a.data()[0], 7.5f);
  const Tensor b = f.load("b");
  EXPECT_EQ(b.shape(), Shape{2});
  EXPECT_EQ(b.data()[0], 1.0f);
  EXPECT_EQ(b.data()[1], -2.0f);
  EXPECT_EQ(f.raw(*f.find("b")).size(), 8u);
  EXPECT_EQ(f.find("c"), nullptr);
}

TEST(SafetensorsReader, AcceptsEmptyFileAndZeroSizedTensors) {
  EXPECT_TRUE(SafetensorsFile::from_bytes(safetensors_bytes("{}"), "e").tensors().empty());
  const std::string header = "{" + entry("\"F16\"", "[0,3]", "[0,0]", "z1") + "," +
                             entry("\"F32\"", "[0,4294967296,4294967296]", "[0,0]", "z2") + "," +
                             entry("\"U8\"", "[1]", "[0,1]", "u") + "," +
                             entry("\"I64\"", "[0]", "[1,1]", "z3") + "}";
  const auto f = SafetensorsFile::from_bytes(safetensors_bytes(header, "\x05"), "z");
  ASSERT_EQ(f.tensors().size(), 4u);
  EXPECT_EQ(f.load("z1").shape(), (Shape{0, 3}));
  EXPECT_EQ(f.load("z1").numel(), 0);
  EXPECT_EQ(f.load("z2").numel(), 0);
  EXPECT_EQ(f.load("z3").numel(), 0);
  EXPECT_EQ(f.load("u").data()[0], 5.0f);
}

TEST(SafetensorsReader, ConvertsEveryDtypeToFloat32) {
  std::string data;
  std::string header = "{";
  std::uint64_t off = 0;
  auto add = [&](const std::string& name, const std::string& dtype, const std::string& bytes, std::size_t n) {
    if (header.size() > 1) header += ",";
    header += entry("\"" + dtype + "\"", "[" + std::to_string(n) + "]",
                    "[" + std::to_string(off) + "," + std::to_string(off + bytes.size()) + "]", name);
    off += bytes.size();
    data += bytes;
  };
  add("f64", "F64", bytes_of<double>({0.1, -3.0}), 2);
  add("f16", "F16", bytes_of<std::uint16_t>({0x3c00, 0x0001, 0xfbff}), 3);
  add("bf16", "BF16", bytes_of<std::uint16_t>({0x3f80, 0xc0a0}), 2);
  add("i64", "I64", bytes_of<std::int64_t>({-7, 1LL << 40}), 2);
  add("i32", "I32", bytes_of<std::int32_t>({-5}), 1);
  add("i16", "I16", bytes_of<std::int16_t>({-300}), 1);
  add("i8", "I8", bytes_of<std::int8_t>({-128}), 1);
  add("u8", "U8", bytes_of<std::uint8_t>({255}), 1);
  add("bool", "BOOL", bytes_of<std::uint8_t>({1, 0}), 2);
  // 3 bytes so far past an 8-aligned start would misalign every following F32: loads must not care.
  add("odd", "U8", "abc", 3);
  add("f32", "F32", bytes_of<float>({1.5f, -0.25f}), 2);
  const auto f = SafetensorsFile::from_bytes(safetensors_bytes(header + "}", data), "dtypes");
  auto values = [&](const char* name) {
    const Tensor t = f.load(name);
    return std::vector<float>(t.begin(), t.end());
  };
  EXPECT_EQ(values("f64"), (std::vector<float>{0.1f, -3.0f}));
  EXPECT_EQ(values("f16"), (std::vector<float>{1.0f, std::ldexp(1.0f, -24), -65504.0f}));
  EXPECT_EQ(values("bf16"), (std::vector<float>{1.0f, -5.0f}));
  EXPECT_EQ(values("i64"), (std::vector<float>{-7.0f, std::ldexp(1.0f, 40)}));
  EXPECT_EQ(values("i32"), (std::vector<float>{-5.0f}));
  EXPECT_EQ(values("i16"), (std::vector<float>{-300.0f}));
  EXPECT_EQ(values("i8"), (std::vector<float>{-128.0f}));
  EXPECT_EQ(values("u8"), (std::vector<float>{255.0f}));
  EXPECT_EQ(values("bool"), (std::vector<float>{1.0f, 0.0f}));
  EXPECT_EQ(values("f32"), (std::vector<float>{1.5f, -0.25f}));
  EXPECT_EQ(f.find("f64")->dtype, DType::F64);
  EXPECT_EQ(f.find("bf16")->shape, Shape{2});
}

TEST(SafetensorsReader, LoadOfMissingTensorNamesFileAndTensor) {
  const auto f =
      SafetensorsFile::from_bytes(safetensors_bytes(braces(kGoodEntry), std::string(8, '\0')), "m.st");
  try {
    (void)f.load("nope");
    FAIL() << "no exception";
  } catch (const NotFoundError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("m.st"), HasSubstr("no tensor 'nope'"), HasSubstr("1 tensors")));
  }
}

TEST(SafetensorsReader, RawRejectsTensorInfoFromAnotherFile) {
  const auto f =
      SafetensorsFile::from_bytes(safetensors_bytes(braces(kGoodEntry), std::string(8, '\0')), "m.st");
  TensorInfo foreign{"w", DType::F32, {1000}, 0, 4000};
  EXPECT_THROW((void)f.raw(foreign), NotFoundError);
}

TEST(SafetensorsReader, MovedFileKeepsItsData) {
  auto f =
      SafetensorsFile::from_bytes(safetensors_bytes(braces(kGoodEntry), bytes_of<float>({3.0f, 4.0f})), "m");
  SafetensorsFile g = std::move(f);
  EXPECT_EQ(g.load("w").data()[1], 4.0f);
}

// Every truncation and many random byte changes of a valid file either read or throw a visbone::Error; under
// the ASan build this also shows that nothing reads outside the buffer.
TEST(SafetensorsReader, CorruptedFilesAreRejectedCleanly) {
  const std::string header = "{\"__metadata__\":{\"format\":\"pt\"}," +
                             entry("\"F16\"", "[2,1]", "[0,4]", "h") + "," +
                             entry("\"F32\"", "[1]", "[4,8]", "f") + "}";
  const std::string good = safetensors_bytes(header, bytes_of<float>({1.0f, 2.0f}));
  ASSERT_EQ(SafetensorsFile::from_bytes(good, "good").tensors().size(), 2u);
  auto read_all = [](const std::string& bytes) {
    try {
      const auto f = SafetensorsFile::from_bytes(bytes, "corrupt");
      for (const auto& t : f.tensors()) (void)f.load(t.name);
      return true;
    } catch (const Error&) {
      return false;
    }
  };
  for (std::size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(read_all(good.substr(0, n))) << n;
  std::uint32_t state = 12345;  // a fixed LCG keeps failures reproducible
  auto next = [&] { return state = state * 1664525u + 1013904223u; };
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bytes = good;
    for (int k = 0, changes = 1 + static_cast<int>(next() % 3); k < changes; ++k)
      bytes[next() % bytes.size()] = static_cast<char>(next() >> 24);
    accepted += read_all(bytes);
  }
  // Only changes inside the 8-byte data section keep the file valid: a byte changed at random lands there
  // with probability 8/size, so with 1 to 3 changes at most about that share of the files may pass.
  const double data_share = 8.0 / static_cast<double>(good.size());
  EXPECT_LE(accepted, static_cast<int>(3000 * data_share * 1.2)) << "of 3000, data share " << data_share;
}

// --- on disk ---------------------------------------------------------------------------------------------

TEST(SafetensorsFileOnDisk, MissingFileIsIoErrorNamingIt) {
  TempDir dir;
  const auto p = dir / "absent.safetensors";
  try {
    (void)SafetensorsFile::open(p);
    FAIL() << "no exception";
  } catch (const IoError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr(p.string()), HasSubstr("cannot open")));
  }
}

TEST(SafetensorsFileOnDisk, DirectoryIsRejected) {
  TempDir dir;
  EXPECT_THROW((void)SafetensorsFile::open(dir.path()), IoError);
}

TEST(SafetensorsFileOnDisk, EmptyAndMalformedFilesNameThePath) {
  TempDir dir;
  const auto empty = dir / "empty.safetensors";
  testing::write_bytes(empty, "");
  try {
    (void)SafetensorsFile::open(empty);
    FAIL() << "no exception";
  } catch (const FormatError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr(empty.string()), HasSubstr("0 bytes")));
  }
  const auto gap = dir / "gap.safetensors";
  testing::write_bytes(gap,
                       safetensors_bytes(braces(entry("\"F32\"", "[1]", "[4,8]")), std::string(8, '\0')));
  try {
    (void)SafetensorsFile::open(gap);
    FAIL() << "no exception";
  } catch (const FormatError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr(gap.string()), HasSubstr("gap")));
  }
}

TEST(SafetensorsFileOnDisk, MappedFileReadsLikeBytes) {
  TempDir dir;
  const auto p = dir / "ok.safetensors";
  testing::write_bytes(p, safetensors_bytes(braces(kGoodEntry), bytes_of<float>({0.5f, 8.0f})));
  const auto f = SafetensorsFile::open(p);
  EXPECT_EQ(f.name(), p.string());
  const Tensor w = f.load("w");
  EXPECT_EQ(w.data()[0], 0.5f);
  EXPECT_EQ(w.data()[1], 8.0f);
}

// --- writer ----------------------------------------------------------------------------------------------

Tensor filled(Shape shape, float start) {
  Tensor t(std::move(shape));
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = start + static_cast<float>(i) * 0.5f;
  return t;
}

TEST(SafetensorsWriter, RoundTripsTensorsOrderAndMetadata) {
  TempDir dir;
  const auto p = dir / "out.safetensors";
  Tensor nan_inf({3});
  nan_inf.data()[0] = std::numeric_limits<float>::quiet_NaN();
  nan_inf.data()[1] = -std::numeric_limits<float>::infinity();
  nan_inf.data()[2] = -0.0f;
  const std::vector<std::pair<std::string, Tensor>> tensors{{"z.second", filled({2, 3, 4}, -1.0f)},
                                                            {"a \"quoted\" \xc3\xa9", filled({1}, 2.0f)},
                                                            {"scalar", filled({}, 9.0f)},
                                                            {"empty", Tensor({0, 5})},
                                                            {"special", nan_inf}};
  write_safetensors(p, tensors, {{"format", "pt"}, {"note", "line\nbreak"}});

  const auto f = SafetensorsFile::open(p);
  EXPECT_EQ(f.metadata(), (std::map<std::string, std::string>{{"format", "pt"}, {"note", "line\nbreak"}}));
  ASSERT_EQ(f.tensors().size(), tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, t] = tensors[i];
    EXPECT_EQ(f.tensors()[i].name, name);  // written in the given order
    EXPECT_EQ(f.tensors()[i].dtype, DType::F32);
    const Tensor back = f.load(name);
    EXPECT_EQ(back.shape(), t.shape()) << name;
    ASSERT_EQ(back.numel(), t.numel());
    if (t.numel()) {
      EXPECT_EQ(std::memcmp(back.data(), t.data(), t.numel() * sizeof(float)), 0) << name;
    }
  }
  // The header is padded so the data section starts on an 8-byte boundary.
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, testing::read_bytes(p).data(), 8);
  EXPECT_EQ(header_len % 8, 0u);
  // Only the result is left in the folder: the temporary file was renamed.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(SafetensorsWriter, WritesViewsAndSlices) {
  TempDir dir;
  const Tensor base = filled({4, 2}, 0.0f);
  write_safetensors(dir / "s.safetensors", {{"rows", base.slice(1, 3)}, {"flat", base.view({8})}});
  const auto f = SafetensorsFile::open(dir / "s.safetensors");
  const Tensor rows = f.load("rows");
  EXPECT_EQ(rows.shape(), (Shape{2, 2}));
  EXPECT_EQ(std::vector<float>(rows.begin(), rows.end()), (std::vector<float>{1.0f, 1.5f, 2.0f, 2.5f}));
  EXPECT_EQ(f.load("flat").shape(), Shape{8});
}

TEST(SafetensorsWriter, ReplacesExistingFileAndLeavesItOnRejection) {
  TempDir dir;
  const auto p = dir / "out.safetensors";
  write_safetensors(p, {{"a", filled({2}, 1.0f)}});
  write_safetensors(p, {{"b", filled({3}, 1.0f)}});
  EXPECT_NE(SafetensorsFile::open(p).find("b"), nullptr);
  const std::string before = testing::read_bytes(p);

  auto expect_rejected = [&](const std::vector<std::pair<std::string, Tensor>>& tensors,
                             const std::map<std::string, std::string>& metadata, const std::string& what) {
    try {
      write_safetensors(p, tensors, metadata);
      ADD_FAILURE() << "accepted: " << what;
    } catch (const FormatError& e) {
      EXPECT_THAT(e.what(), AllOf(HasSubstr(p.string()), HasSubstr(what)));
    }
    EXPECT_EQ(testing::read_bytes(p), before);
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
  };
  expect_rejected({{"x", filled({1}, 0)}, {"x", filled({1}, 0)}}, {}, "tensor 'x' twice");
  expect_rejected({{"__metadata__", filled({1}, 0)}}, {}, "'__metadata__' (reserved)");
  expect_rejected({{"bad\xff", filled({1}, 0)}}, {}, "not valid UTF-8");
  expect_rejected({{"x", filled({1}, 0)}}, {{"k", "\xc0"}}, "not valid UTF-8");
  expect_rejected({{"x", Tensor()}}, {}, "tensor 'x': it has no storage");
}

TEST(SafetensorsWriter, MissingFolderIsIoError) {
  TempDir dir;
  const auto p = dir / "no" / "such" / "out.safetensors";
  try {
    write_safetensors(p, {{"a", filled({1}, 0)}});
    FAIL() << "no exception";
  } catch (const IoError& e) {
    EXPECT_THAT(e.what(), HasSubstr(p.string()));
  }
}

}  // namespace
}  // namespace visbone
