using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Payrail.Tests.Psp;

/// <summary>Signs a webhook body the way Stripe does: <c>t=&lt;unix&gt;,v1=hex(HMAC-SHA256(secret, "{t}.{body}"))</c>.</summary>
internal static class StripeSigning
{
    public static string Sign(string body, string secret, DateTimeOffset at)
    {
        var t = at.ToUnixTimeSeconds();
        return $"t={t},v1={Hmac(secret, t, body)}";
    }

    public static string Hmac(string secret, long t, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{t.ToString(CultureInfo.InvariantCulture)}.{body}")));
}
