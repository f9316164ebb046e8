using System.Security.Cryptography;
using System.Text;

namespace Payrail.Idempotency;

/// <summary>A validated <c>Idempotency-Key</c> header within its scope (caller + route).</summary>
public sealed record IdempotencyKey(string Scope, string Key)
{
    public const string HeaderName = "Idempotency-Key";
    public const int MaxLength = 255;

    public string RedisKey => $"idem:{Scope}:{Key}";

    /// <summary>For logs: the raw key may be something the client considers private, so only a short hash is logged.</summary>
    public string Hash => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Scope + "\n" + Key)))[..16];

    /// <summary>1–255 characters of visible ASCII (0x21–0x7E): a UUID, a ULID or any client token fits.</summary>
    public static bool IsWellFormed(string? key) =>
        key is { Length: > 0 and <= MaxLength } && key.All(c => c is >= '!' and <= '~');

    /// <summary>SHA-256 over route, caller and canonical body: the same request always fingerprints the same.</summary>
    public static string Fingerprint(string scope, ReadOnlySpan<byte> canonicalBody)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(scope));
        hash.AppendData("\n"u8);
        hash.AppendData(canonicalBody);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
