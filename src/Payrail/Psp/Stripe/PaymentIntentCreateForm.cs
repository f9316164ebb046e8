using System.Globalization;
using System.Net;
using System.Text;
using Stripe;

namespace Payrail.Psp.Stripe;

/// <summary>
/// The form body of the create+confirm every payment sends, written directly: byte for byte what Stripe.net's form
/// encoder makes of the same <see cref="PaymentIntentCreateOptions"/> (its own fields by wire name, nested ones likewise,
/// metadata in insertion order, <c>expand</c> last; values through <see cref="WebUtility.UrlEncode(string)"/> with
/// brackets kept), so a replay of a key sent by an older build carries the same parameters. Stripe.net's encoder reads
/// each of the options' 40 properties by reflection on every request (≈18 KB per payment, issue 8's measurement); this
/// writes the fields <see cref="StripeConnector.CreateOptions"/> sets, and only those: a field added there must be added
/// here (PaymentIntentCreateFormTests compares both encoders on what it builds).
/// </summary>
internal static class PaymentIntentCreateForm
{
    public static string Encode(PaymentIntentCreateOptions create)
    {
        var form = new StringBuilder(512);
        Add(form, "amount", create.Amount?.ToString(CultureInfo.InvariantCulture));
        if (create.AutomaticPaymentMethods is { } automatic)
        {
            Add(form, "automatic_payment_methods[allow_redirects]", automatic.AllowRedirects);
            Add(form, "automatic_payment_methods[enabled]", Bool(automatic.Enabled));
        }
        Add(form, "capture_method", create.CaptureMethod);
        Add(form, "confirm", Bool(create.Confirm));
        Add(form, "currency", create.Currency);
        Add(form, "description", create.Description);
        foreach (var (key, value) in create.Metadata ?? [])
            Add(form, Nested("metadata", key), value);
        Add(form, "payment_method", create.PaymentMethod);
        Add(form, "return_url", create.ReturnUrl);
        for (var i = 0; i < (create.Expand?.Count ?? 0); i++)
            Add(form, "expand[" + i.ToString(CultureInfo.InvariantCulture) + "]", create.Expand![i]);
        return form.ToString();
    }

    /// <summary>Stripe.net's nesting of a key under a prefix: a key that holds a bracket keeps its own from there on.</summary>
    private static string Nested(string prefix, string key) =>
        key.IndexOf('[', StringComparison.Ordinal) is var bracket and >= 0
            ? prefix + "[" + key[..bracket] + "]" + key[bracket..]
            : prefix + "[" + key + "]";

    private static string? Bool(bool? value) => value switch
    {
        null => null,
        true => "true",
        false => "false",
    };

    /// <summary>A null value is left out, as Stripe.net leaves it out; an empty one is sent empty.</summary>
    private static void Add(StringBuilder form, string key, string? value)
    {
        if (value is null) return;
        if (form.Length > 0) form.Append('&');
        form.Append(Encode(key)).Append('=').Append(Encode(value));
    }

    private static string Encode(string value) =>
        value.Length == 0 ? "" : WebUtility.UrlEncode(value).Replace("%5B", "[", StringComparison.Ordinal).Replace("%5D", "]", StringComparison.Ordinal);
}
