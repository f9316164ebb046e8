using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Payrail.Domain.Money;

namespace Payrail.Dashboard;

/// <summary>An action a payment's page offers: what the form posts to, and the API route it becomes.</summary>
public sealed record PaymentAction(string Name, string Label, string ApiPath)
{
    public static readonly PaymentAction Capture = new("capture", "Capture", "capture");
    public static readonly PaymentAction Void = new("void", "Void", "void");
    public static readonly PaymentAction Refund = new("refunds", "Refund", "refunds");

    public static PaymentAction? Named(string name) => name switch { "capture" => Capture, "void" => Void, "refunds" => Refund, _ => null };

    /// <summary>
    /// The actions the payment's state allows (DESIGN.md "State machine"): capture and void an authorization, refund
    /// what was captured and not yet refunded. The API decides again; this only keeps impossible buttons off the page.
    /// </summary>
    public static IReadOnlyList<PaymentAction> AllowedFor(string status, long capturedMinor, long refundedMinor) => status switch
    {
        "authorized" => [Capture, Void],
        "captured" or "settled" when capturedMinor > refundedMinor => [Refund],
        _ => [],
    };
}

/// <summary>What came of sending an action: done, refused by the API (its problem), or unknown (no answer).</summary>
public abstract record ActionOutcome
{
    public sealed record Done : ActionOutcome;
    public sealed record Refused(int Status, string Title, string? Detail, IReadOnlyList<string> Errors) : ActionOutcome;
    /// <summary>No answer in time or the connection failed: the action may have happened. The same key retries it safely.</summary>
    public sealed record Unknown(string Reason) : ActionOutcome;
}

/// <summary>
/// Sends a payment action to the API (<c>POST /v1/payments/{id}/capture|void|refunds</c>, issue 11) with the signed-in
/// caller's own token and the idempotency key generated once when the form was rendered: a double-click or a retry
/// sends the same key, and the API answers the second with the first's result instead of acting twice.
/// </summary>
public sealed class PaymentActionsClient(HttpClient http)
{
    public const string HttpClientName = "payrail-api";
    public const int MaxReasonChars = 500;

    public async Task<ActionOutcome> SendAsync(string token, Guid paymentId, PaymentAction action, string idempotencyKey,
        long? amountMinor, string? reason, CancellationToken cancellationToken)
    {
        var body = new Dictionary<string, object>();
        if (amountMinor is { } amount) body["amount"] = amount;
        if (reason is not null) body["reason"] = reason;
        using var request = new HttpRequestMessage(HttpMethod.Post, $"v1/payments/{paymentId:D}/{action.ApiPath}")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            if (response.IsSuccessStatusCode) return new ActionOutcome.Done();
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            return Problem((int)response.StatusCode, text);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new ActionOutcome.Unknown(e is TaskCanceledException ? "the API did not answer in time" : "the API could not be reached");
        }
    }

    /// <summary>The API's problem+json (RFC 9457): its title, detail and per-field errors, shown on the form as they are.</summary>
    public static ActionOutcome.Refused Problem(int status, string text)
    {
        try
        {
            using var json = JsonDocument.Parse(text);
            var root = json.RootElement;
            var title = root.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : $"HTTP {status}";
            var detail = root.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
            var errors = new List<string>();
            if (root.TryGetProperty("errors", out var e) && e.ValueKind == JsonValueKind.Object)
                foreach (var field in e.EnumerateObject())
                    foreach (var message in field.Value.ValueKind == JsonValueKind.Array ? field.Value.EnumerateArray() : default)
                        errors.Add($"{field.Name}: {message.GetString()}");
            return new ActionOutcome.Refused(status, title, detail, errors);
        }
        catch (JsonException)
        {
            return new ActionOutcome.Refused(status, $"HTTP {status}", null, []);
        }
    }

    /// <summary>A form's amount ("12.50") in the payment's currency; empty means the API's default (all that remains).</summary>
    public static bool TryParseAmount(string? text, string currencyCode, out long? amountMinor)
    {
        amountMinor = null;
        if (string.IsNullOrWhiteSpace(text)) return true;
        if (!Currency.TryFromCode(currencyCode, out var currency) || !Money.TryParse(text.Trim(), currency, out var money) || money.AmountMinor <= 0)
            return false;
        amountMinor = money.AmountMinor;
        return true;
    }
}
