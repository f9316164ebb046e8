using System.Security.Cryptography;
using System.Text;

namespace PspSim.Webhooks;

/// <summary>
/// Stripe's Stripe-Signature header: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256(secret, "t.body")&gt;, one v1 per
/// secret in force (two during a secret roll). The key is the whole whsec_ string as UTF-8, as Stripe's libraries use it.
/// </summary>
public static class WebhookSignature
{
    public static string Header(long timestamp, string body, IReadOnlyList<string> secrets)
    {
        var header = new StringBuilder("t=").Append(timestamp);
        var payload = Encoding.UTF8.GetBytes($"{timestamp}.{body}");
        foreach (var secret in secrets)
            header.Append(",v1=").Append(Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), payload)));
        return header.ToString();
    }
}
