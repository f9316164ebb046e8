using System.Text.Json.Nodes;

namespace PspSim.Stripe;

/// <summary>An answer in Stripe's error shape: {"error": {type, code, decline_code, message, param, ...}}.</summary>
public sealed class StripeApiException(int status, string type, string? code, string message, string? param = null) : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
    public string? Code { get; } = code;
    public string? Param { get; } = param;
    public string? DeclineCode { get; init; }
    /// <summary>Extra members of the error object (e.g. the embedded payment_intent on a decline).</summary>
    public JsonObject? Extra { get; init; }
    /// <summary>False for rejections before the endpoint runs: Stripe does not store those under an idempotency key.</summary>
    public bool Executed { get; init; }

    public static StripeApiException Invalid(string message, string? param = null, string? code = null) =>
        new(400, "invalid_request_error", code, message, param);

    public static StripeApiException Missing(string param) =>
        new(400, "invalid_request_error", "parameter_missing", $"Missing required param: {param}.", param);

    public static StripeApiException NoSuch(string noun, string id, string? param = null) =>
        new(404, "invalid_request_error", "resource_missing", $"No such {noun}: '{id}'", param ?? "id") { Executed = true };

    public static StripeApiException UnexpectedState(string message) =>
        new(400, "invalid_request_error", "payment_intent_unexpected_state", message) { Executed = true };

    public JsonObject ErrorObject()
    {
        var error = new JsonObject { ["type"] = Type };
        if (Code is not null)
        {
            error["code"] = Code;
            error["doc_url"] = $"https://stripe.com/docs/error-codes/{Code.Replace('_', '-')}";
        }
        if (DeclineCode is not null) error["decline_code"] = DeclineCode;
        error["message"] = Message;
        if (Param is not null) error["param"] = Param;
        if (Extra is not null)
            foreach (var (k, v) in Extra) error[k] = v?.DeepClone();
        return error;
    }

    public JsonObject Body() => new() { ["error"] = ErrorObject() };
}
