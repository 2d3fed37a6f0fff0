// lib/sys/netlink: message building and reply parsing, on bytes alone (no socket, no root).
#include <ebpf/error.hpp>

#include "sys/netlink.hpp"

#include <cstring>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <gtest/gtest.h>

namespace {

using ebpf::sys::netlink_attributes;
using ebpf::sys::netlink_request;
using ebpf::sys::parse_netlink_replies;

template <class T>
T read_at(std::span<const std::byte> bytes, std::size_t offset) {
  T value{};
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

// Appends a netlink message (header + payload, padded) to `out`.
void append_message(std::vector<std::byte>& out, std::uint16_t type, std::uint16_t flags,
                    std::uint32_t sequence, const std::vector<std::byte>& payload) {
  nlmsghdr header{};
  header.nlmsg_len = static_cast<std::uint32_t>(NLMSG_HDRLEN + payload.size());
  header.nlmsg_type = type;
  header.nlmsg_flags = flags;
  header.nlmsg_seq = sequence;
  std::size_t at = out.size();
  out.resize(at + NLMSG_ALIGN(header.nlmsg_len));
  std::memcpy(out.data() + at, &header, sizeof header);
  if (!payload.empty()) std::memcpy(out.data() + at + NLMSG_HDRLEN, payload.data(), payload.size());
}

void append_attribute(std::vector<std::byte>& out, std::uint16_t type, const void* data, std::size_t size) {
  nlattr attribute{};
  attribute.nla_len = static_cast<std::uint16_t>(NLA_HDRLEN + size);
  attribute.nla_type = type;
  std::size_t at = out.size();
  out.resize(at + NLA_ALIGN(attribute.nla_len));
  std::memcpy(out.data() + at, &attribute, sizeof attribute);
  std::memcpy(out.data() + at + NLA_HDRLEN, data, size);
}

// An NLMSG_ERROR payload: errno, the request's header (capped ack), then an NLMSGERR_ATTR_MSG.
std::vector<std::byte> error_payload(int error, const char* text) {
  nlmsgerr err{};
  err.error = -error;
  err.msg.nlmsg_len = NLMSG_HDRLEN + 16;
  std::vector<std::byte> payload(sizeof err);
  std::memcpy(payload.data(), &err, sizeof err);
  if (text) append_attribute(payload, NLMSGERR_ATTR_MSG, text, std::strlen(text) + 1);
  return payload;
}

TEST(NetlinkRequest, NestsAndPadsAttributes) {
  ifinfomsg info{};
  info.ifi_index = 7;
  netlink_request request(RTM_SETLINK, NLM_F_ACK, &info, sizeof info);
  std::size_t nest = request.begin_nested(43);  // IFLA_XDP
  request.put_s32(1, -1);                       // IFLA_XDP_FD
  request.put_string(9, "ab");                  // 3 bytes, padded to 4
  request.end_nested(nest);
  request.put_u8(5, 1);

  auto bytes = request.bytes();
  EXPECT_EQ(bytes.size() % 4, 0u);
  auto header = read_at<nlmsghdr>(bytes, 0);
  EXPECT_EQ(header.nlmsg_len, bytes.size());
  EXPECT_EQ(header.nlmsg_type, RTM_SETLINK);
  EXPECT_EQ(header.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
  EXPECT_EQ(read_at<ifinfomsg>(bytes, NLMSG_HDRLEN).ifi_index, 7);

  std::size_t nest_at = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifinfomsg));
  auto nested = read_at<nlattr>(bytes, nest_at);
  EXPECT_EQ(nested.nla_type, 43 | NLA_F_NESTED);
  EXPECT_EQ(nested.nla_len, NLA_HDRLEN + 8 + 8);  // the fd (4 + 4) and "ab\0" (4 + 3, padded)

  netlink_attributes top(bytes.subspan(nest_at));
  auto inner = top.nested(43);
  EXPECT_EQ(inner.u32(1), 0xffffffffu);
  EXPECT_EQ(inner.string(9), std::string("ab"));
  EXPECT_EQ(top.u8(5), 1u);
  EXPECT_FALSE(top.get(6));

  request.set_sequence(42);
  EXPECT_EQ(read_at<nlmsghdr>(request.bytes(), 0).nlmsg_seq, 42u);
}

TEST(NetlinkReplies, DataThenErrorWithExtendedAck) {
  std::vector<std::byte> datagram;
  std::vector<std::byte> data(8, std::byte{0x5a});
  append_message(datagram, RTM_NEWLINK, 0, 3, data);
  append_message(datagram, NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 3,
                 error_payload(EBUSY, "XDP program already attached"));
  int seen = 0;
  auto status = parse_netlink_replies(datagram, 3, [&](std::uint16_t type, std::span<const std::byte> payload) {
    ++seen;
    EXPECT_EQ(type, RTM_NEWLINK);
    EXPECT_EQ(payload.size(), 8u);
  });
  ASSERT_TRUE(status);
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(status->error, EBUSY);
  EXPECT_EQ(status->kernel_message, "XDP program already attached");

  try {
    ebpf::sys::throw_netlink(*status, "program 'p': attach XDP to interface 'veth1' (netlink)");
    ADD_FAILURE();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code().value(), EBUSY);
    EXPECT_STREQ(e.what(), "program 'p': attach XDP to interface 'veth1' (netlink): Device or resource "
                           "busy (kernel: XDP program already attached)");
  }
}

TEST(NetlinkReplies, UncappedErrorSkipsTheEchoedRequest) {
  // Without NLM_F_CAPPED the whole request follows the errno; the TLVs come after it.
  nlmsgerr err{};
  err.error = -EEXIST;
  err.msg.nlmsg_len = NLMSG_HDRLEN + 12;  // a request with 12 bytes of body
  std::vector<std::byte> payload(sizeof err + 12, std::byte{0x11});
  std::memcpy(payload.data(), &err, sizeof err);
  const char* text = "Active program does not match expected";
  append_attribute(payload, NLMSGERR_ATTR_MSG, text, std::strlen(text) + 1);
  std::vector<std::byte> datagram;
  append_message(datagram, NLMSG_ERROR, NLM_F_ACK_TLVS, 9, payload);
  auto status = parse_netlink_replies(datagram, 9, {});
  ASSERT_TRUE(status);
  EXPECT_EQ(status->error, EEXIST);
  EXPECT_EQ(status->kernel_message, text);
}

TEST(NetlinkReplies, AckDoneStaleAndTruncated) {
  std::vector<std::byte> ack;
  append_message(ack, NLMSG_ERROR, NLM_F_CAPPED, 1, error_payload(0, nullptr));
  auto status = parse_netlink_replies(ack, 1, {});
  ASSERT_TRUE(status);
  EXPECT_EQ(status->error, 0);

  // A reply to another request is skipped; without an end the caller must read on.
  EXPECT_FALSE(parse_netlink_replies(ack, 2, {}));

  std::vector<std::byte> dump;
  append_message(dump, RTM_NEWTFILTER, NLM_F_MULTI, 4, std::vector<std::byte>(20));
  append_message(dump, RTM_NEWTFILTER, NLM_F_MULTI, 4, std::vector<std::byte>(20));
  int messages = 0;
  EXPECT_FALSE(parse_netlink_replies(dump, 4, [&](std::uint16_t, std::span<const std::byte>) { ++messages; }));
  append_message(dump, NLMSG_DONE, NLM_F_MULTI, 4, std::vector<std::byte>(4));
  status = parse_netlink_replies(dump, 4, [&](std::uint16_t, std::span<const std::byte>) { ++messages; });
  ASSERT_TRUE(status);
  EXPECT_EQ(status->error, 0);
  EXPECT_EQ(messages, 4);

  // A header whose length runs past the datagram.
  std::vector<std::byte> truncated(ack.begin(), ack.begin() + 20);
  status = parse_netlink_replies(truncated, 1, {});
  ASSERT_TRUE(status);
  EXPECT_EQ(status->error, EBADMSG);

  // Attributes with a bad length end the walk instead of reading past the end.
  std::vector<std::byte> attributes;
  append_attribute(attributes, 1, "abcd", 4);
  nlattr bad{};
  bad.nla_len = 200;
  bad.nla_type = 2;
  std::size_t at = attributes.size();
  attributes.resize(at + sizeof bad);
  std::memcpy(attributes.data() + at, &bad, sizeof bad);
  netlink_attributes parsed(attributes);
  EXPECT_TRUE(parsed.get(1));
  EXPECT_FALSE(parsed.get(2));
}

}  // namespace
