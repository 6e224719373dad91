// Internal to libsv2 (not installed): the public records of sv2/messages.hpp and sv2/sv2.hpp
// to and from the bridge's structs of the same names (sv2/bridge.rs.h), field by field in
// declaration order. A record whose field count differs from its bridge struct's does not
// compile, nor does a field whose type has no conversion here.
#ifndef SV2_CONVERT_HPP
#define SV2_CONVERT_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "rust/cxx.h"
#include "sv2/bridge.rs.h"
#include "sv2/sv2.hpp"

namespace sv2bridge::convert {

/// Every record that has a bridge struct of the same name.
#define SV2_RECORDS(X)                   \
    X(MessageSpec)                       \
    X(FrameHeader)                       \
    X(Tlv)                               \
    X(AuthorityKeypair)                  \
    X(Certificate)                       \
    X(ServerCredentials)                 \
    X(HandshakeInfo)                     \
    X(Work)                              \
    X(TemplateJob)                       \
    X(ServerChannelParams)               \
    X(ServerOptions)                     \
    X(ClientOptions)                     \
    X(SetupConnection)                   \
    X(SetupConnectionSuccess)            \
    X(SetupConnectionError)              \
    X(ChannelEndpointChanged)            \
    X(Reconnect)                         \
    X(OpenStandardMiningChannel)         \
    X(OpenStandardMiningChannelSuccess)  \
    X(OpenMiningChannelError)            \
    X(OpenExtendedMiningChannel)         \
    X(OpenExtendedMiningChannelSuccess)  \
    X(NewMiningJob)                      \
    X(UpdateChannel)                     \
    X(UpdateChannelError)                \
    X(CloseChannel)                      \
    X(SetExtranoncePrefix)               \
    X(SubmitSharesStandard)              \
    X(SubmitSharesExtended)              \
    X(SubmitSharesSuccess)               \
    X(SubmitSharesError)                 \
    X(NewExtendedMiningJob)              \
    X(SetNewPrevHash)                    \
    X(SetTarget)                         \
    X(SetCustomMiningJob)                \
    X(SetCustomMiningJobSuccess)         \
    X(SetCustomMiningJobError)           \
    X(SetGroupChannel)                   \
    X(AllocateMiningJobToken)            \
    X(AllocateMiningJobTokenSuccess)     \
    X(ProvideMissingTransactions)        \
    X(ProvideMissingTransactionsSuccess) \
    X(DeclareMiningJob)                  \
    X(DeclareMiningJobSuccess)           \
    X(DeclareMiningJobError)             \
    X(PushSolution)                      \
    X(CoinbaseOutputConstraints)         \
    X(NewTemplate)                       \
    X(SetNewPrevHashTdp)                 \
    X(RequestTransactionData)            \
    X(RequestTransactionDataSuccess)     \
    X(RequestTransactionDataError)       \
    X(SubmitSolution)                    \
    X(RequestExtensions)                 \
    X(RequestExtensionsSuccess)          \
    X(RequestExtensionsError)

/// The bridge struct of public record P.
template <class P> struct bridge_of;
#define SV2_BRIDGE_OF(name)                                                                  \
    template <> struct bridge_of<sv2::name> {                                                \
        static_assert(sv2::detail::is_record<sv2::name>::value, #name " has a field_count"); \
        using type = sv2bridge::name;                                                        \
    };
SV2_RECORDS(SV2_BRIDGE_OF)
#undef SV2_BRIDGE_OF
template <class P> using bridge_t = typename bridge_of<P>::type;

inline rust::Slice<const std::uint8_t> slice(sv2::detail::ByteView b) noexcept { return {b.data, b.size}; }
inline rust::Slice<const std::uint8_t> slice(std::string_view s) noexcept {
    return {reinterpret_cast<const std::uint8_t *>(s.data()), s.size()};
}

// One field, `out` from `in`. Every overload is declared before any definition uses one.
template <class T> void put(T &out, const T &in);
void put(rust::Vec<std::uint8_t> &out, const std::vector<std::uint8_t> &in);
void put(std::vector<std::uint8_t> &out, const rust::Vec<std::uint8_t> &in);
void put(rust::Vec<std::uint8_t> &out, const std::string &in);
void put(std::string &out, const rust::Vec<std::uint8_t> &in);
void put(OptionU32 &out, const std::optional<std::uint32_t> &in) noexcept;
void put(std::optional<std::uint32_t> &out, const OptionU32 &in) noexcept;
void put(Hash256 &out, const sv2::Bytes32 &in) noexcept;
void put(sv2::Bytes32 &out, const Hash256 &in) noexcept;
void put(Transaction &out, const std::vector<std::uint8_t> &in);
void put(std::vector<std::uint8_t> &out, const Transaction &in);
template <class O, class I> void put(rust::Vec<O> &out, const std::vector<I> &in);
template <class O, class I> void put(std::vector<O> &out, const rust::Vec<I> &in);
template <class O, class I>
std::enable_if_t<!std::is_same_v<O, I> && (sv2::detail::is_record<O>::value || sv2::detail::is_record<I>::value)>
put(O &out, const I &in);

template <class T> void put(T &out, const T &in) { out = in; }
inline void put(rust::Vec<std::uint8_t> &out, const std::vector<std::uint8_t> &in) {
    out = copy_bytes({in.data(), in.size()});
}
inline void put(std::vector<std::uint8_t> &out, const rust::Vec<std::uint8_t> &in) { out.assign(in.begin(), in.end()); }
// STR0_255: the bytes as they are, both ways.
inline void put(rust::Vec<std::uint8_t> &out, const std::string &in) { out = copy_bytes(slice(in)); }
inline void put(std::string &out, const rust::Vec<std::uint8_t> &in) { out.assign(in.begin(), in.end()); }
inline void put(OptionU32 &out, const std::optional<std::uint32_t> &in) noexcept {
    out = OptionU32{in.has_value(), in.value_or(0)};
}
inline void put(std::optional<std::uint32_t> &out, const OptionU32 &in) noexcept {
    out = in.has_value ? std::optional<std::uint32_t>(in.value) : std::nullopt;
}
inline void put(Hash256 &out, const sv2::Bytes32 &in) noexcept { out.bytes = in; }
inline void put(sv2::Bytes32 &out, const Hash256 &in) noexcept { out = in.bytes; }
inline void put(Transaction &out, const std::vector<std::uint8_t> &in) { put(out.bytes, in); }
inline void put(std::vector<std::uint8_t> &out, const Transaction &in) { put(out, in.bytes); }

template <class O, class I> void put(rust::Vec<O> &out, const std::vector<I> &in) {
    out.clear();
    out.reserve(in.size());
    for (const I &x : in) {
        O o{};
        put(o, x);
        out.push_back(std::move(o));
    }
}

template <class O, class I> void put(std::vector<O> &out, const rust::Vec<I> &in) {
    out.clear();
    out.reserve(in.size());
    for (const I &x : in) {
        O o{};
        put(o, x);
        out.push_back(std::move(o));
    }
}

template <class Dst, class Src, std::size_t... I> void put_each(Dst &&dst, const Src &src, std::index_sequence<I...>) {
    (put(std::get<I>(dst), std::get<I>(src)), ...);
}

// A record from its bridge struct or the other way: the public side says how many fields.
template <class O, class I>
std::enable_if_t<!std::is_same_v<O, I> && (sv2::detail::is_record<O>::value || sv2::detail::is_record<I>::value)>
put(O &out, const I &in) {
    using Public = std::conditional_t<sv2::detail::is_record<O>::value, O, I>;
    constexpr std::size_t n = Public::field_count;
    put_each(sv2::detail::fields_of<n>(out), sv2::detail::fields_of<n>(in), std::make_index_sequence<n>());
}

/// The bridge struct for public record `p`.
template <class P> bridge_t<P> to_bridge(const P &p) {
    bridge_t<P> b{};
    put(b, p);
    return b;
}

/// The public record P for bridge struct `b`.
template <class P> P from_bridge(const bridge_t<P> &b) {
    P p{};
    put(p, b);
    return p;
}

/// The public records P for bridge structs `v`.
template <class P> std::vector<P> from_bridge(const rust::Vec<bridge_t<P>> &v) {
    std::vector<P> out;
    put(out, v);
    return out;
}

} // namespace sv2bridge::convert

#endif // SV2_CONVERT_HPP
