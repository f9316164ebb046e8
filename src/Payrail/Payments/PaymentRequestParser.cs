using System.Text.Json;
using System.Text.RegularExpressions;
using Payrail.Api;
using Payrail.Domain.Money;
using Payrail.Domain.Validation;

namespace Payrail.Payments;

/// <summary>A refused request: the problem type of the first error and every field error.</summary>
public sealed record RequestRejection(string Type, string Title, string Detail, IReadOnlyDictionary<string, string[]> Errors)
{
    public IResult ToResult() => Problems.Result(Type, Title, StatusCodes.Status400BadRequest, Detail, Errors);
}

/// <summary>
/// Parses and validates a payment body (DESIGN.md "Money and bad input"). Messages name the
/// field and the rule, never the value: a value may be a card number.
/// </summary>
public static partial class PaymentRequestParser
{
    public const int MaxDescriptionChars = 1000;
    public const int MaxMetadataKeys = 20;
    public const int MaxMetadataKeyChars = 40;
    public const int MaxMetadataValueChars = 500;
    private const int MaxJsonDepth = 8;

    private static readonly HashSet<string> KnownFields =
        ["merchant_id", "amount", "currency", "payment_method", "capture", "description", "metadata"];

    [GeneratedRegex("^pm_[A-Za-z0-9_]{1,100}$")]
    private static partial Regex PaymentMethodPattern();

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    public static partial Regex MerchantIdPattern();

    public static bool TryParse(ReadOnlyMemory<byte> body, out CreatePaymentRequest? request, out RequestRejection? rejection)
    {
        request = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = MaxJsonDepth });
        }
        catch (JsonException)
        {
            rejection = new RequestRejection(Problems.InvalidJson, "Malformed JSON", "The body is not valid JSON.", Empty);
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                rejection = new RequestRejection(Problems.InvalidJson, "Malformed JSON", "The body must be a JSON object.", Empty);
                return false;
            }

            // First and on its own: a raw card number anywhere makes the whole request unacceptable (PCI scope), and
            // text we could not store (PostgreSQL refused U+0000 after the lease was taken: a 500, then 409s) or
            // could not even read (a lone surrogate threw) is refused before any field is looked at.
            switch (Screen(root))
            {
                case Screening.CardNumber:
                    rejection = CardNumberRefusal;
                    return false;
                case Screening.InvalidText:
                    rejection = new RequestRejection(Problems.InvalidText, "Invalid text",
                        "Text in the request must be valid Unicode without control characters (tab, line feed and carriage return are allowed).", Empty);
                    return false;
            }

            var errors = new Errors();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name)) errors.Add(Problems.InvalidRequest, Safe(property.Name), "appears more than once");
                else if (!KnownFields.Contains(property.Name)) errors.Add(Problems.InvalidRequest, Safe(property.Name), "is not a known field");
            }

            var merchantId = RequiredString(root, "merchant_id", errors);
            if (merchantId is not null && !MerchantIdPattern().IsMatch(merchantId))
                errors.Add(Problems.InvalidRequest, "merchant_id", "must be 1-64 characters of letters, digits, '_' or '-'");

            var amount = Amount(root, errors);
            var currency = CurrencyOf(root, errors);
            if (amount is { } a && currency is not null && a > MoneyLimits.MaxAmountMinor(currency))
                errors.Add(Problems.InvalidAmount, "amount", $"must not exceed {MoneyLimits.MaxAmountMinor(currency)} minor units of {currency.Code}");

            var paymentMethod = RequiredString(root, "payment_method", errors);
            if (paymentMethod is not null && !PaymentMethodPattern().IsMatch(paymentMethod))
                errors.Add(Problems.InvalidRequest, "payment_method", "must be a PSP payment method token such as pm_card_visa");

            var capture = Capture(root, errors);
            var description = Description(root, errors);
            var metadata = Metadata(root, errors);

            if (errors.Count > 0)
            {
                rejection = errors.ToRejection();
                return false;
            }

            request = new CreatePaymentRequest(merchantId!, amount!.Value, currency!, paymentMethod!, capture, description, metadata);
            rejection = null;
            return true;
        }
    }

    private static readonly IReadOnlyDictionary<string, string[]> Empty = new Dictionary<string, string[]>();

    /// <summary>The refusal of a card number, in the body or in the Idempotency-Key.</summary>
    public static RequestRejection CardNumberRefusal { get; } = new(Problems.CardNumberRefused, "Card numbers are not accepted",
        "The request contains what looks like a card number. Send a PSP payment method token (pm_...) instead.", Empty);

    /// <summary>What the first look at every name and string of the body found; worse outcomes have larger values.</summary>
    private enum Screening { Clean, InvalidText, CardNumber }

    private static Screening Screen(JsonElement element)
    {
        var worst = Screening.Clean;
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    worst = Worse(worst, Worse(ScreenText(NameOf(property)), Screen(property.Value)));
                    if (worst == Screening.CardNumber) return worst;
                }
                return worst;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    worst = Worse(worst, Screen(item));
                    if (worst == Screening.CardNumber) return worst;
                }
                return worst;
            case JsonValueKind.String:
                return ScreenText(StorableText.Read(element));
            case JsonValueKind.Number:
                return CardNumberDetector.ContainsCardNumber(element.GetRawText()) ? Screening.CardNumber : Screening.Clean;
            default:
                return Screening.Clean;
        }
    }

    private static Screening Worse(Screening a, Screening b) => a > b ? a : b;

    /// <summary>A card number outranks invalid text: it is the refusal the client must hear about.</summary>
    private static Screening ScreenText(string? text)
    {
        if (text is null) return Screening.InvalidText;
        if (CardNumberDetector.ContainsCardNumber(text)) return Screening.CardNumber;
        return StorableText.IsStorable(text) ? Screening.Clean : Screening.InvalidText;
    }

    private static string? NameOf(JsonProperty property)
    {
        try { return property.Name; }
        catch (InvalidOperationException) { return null; }
    }

    private static string? RequiredString(JsonElement root, string name, Errors errors)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            errors.Add(Problems.InvalidRequest, name, "is required");
            return null;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(Problems.InvalidRequest, name, "must be a string");
            return null;
        }
        return value.GetString();
    }

    private static long? Amount(JsonElement root, Errors errors)
    {
        if (!root.TryGetProperty("amount", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            errors.Add(Problems.InvalidAmount, "amount", "is required (an integer number of minor units)");
            return null;
        }
        // Integers only: 10.5 or "1050" are refused rather than guessed at; money never passes through floating point.
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var amountMinor)
            || value.GetRawText().AsSpan().IndexOfAny('.', 'e', 'E') >= 0)
        {
            errors.Add(Problems.InvalidAmount, "amount", "must be an integer number of minor units");
            return null;
        }
        if (amountMinor <= 0)
        {
            errors.Add(Problems.InvalidAmount, "amount", "must be greater than zero");
            return null;
        }
        return amountMinor;
    }

    private static Currency? CurrencyOf(JsonElement root, Errors errors)
    {
        var code = RequiredString(root, "currency", errors);
        if (code is null) return null;
        // ISO 4217 codes are upper case; Stripe-style lower case is accepted and normalised.
        if (code.Length == 3 && code.All(char.IsAsciiLetter) && Currency.TryFromCode(code.ToUpperInvariant(), out var currency))
            return currency;
        errors.Add(Problems.UnknownCurrency, "currency", "must be a known ISO 4217 currency code such as USD");
        return null;
    }

    private static CaptureMethod Capture(JsonElement root, Errors errors)
    {
        if (!root.TryGetProperty("capture", out var value) || value.ValueKind == JsonValueKind.Null) return CaptureMethod.Automatic;
        if (value.ValueKind == JsonValueKind.String)
        {
            switch (value.GetString())
            {
                case "automatic": return CaptureMethod.Automatic;
                case "manual": return CaptureMethod.Manual;
            }
        }
        errors.Add(Problems.InvalidRequest, "capture", "must be \"automatic\" or \"manual\"");
        return CaptureMethod.Automatic;
    }

    private static string? Description(JsonElement root, Errors errors)
    {
        if (!root.TryGetProperty("description", out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(Problems.InvalidRequest, "description", "must be a string");
            return null;
        }
        var description = value.GetString()!;
        if (description.Length > MaxDescriptionChars)
            errors.Add(Problems.InvalidRequest, "description", $"must be at most {MaxDescriptionChars} characters");
        return description;
    }

    private static IReadOnlyDictionary<string, string> Metadata(JsonElement root, Errors errors)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!root.TryGetProperty("metadata", out var value) || value.ValueKind == JsonValueKind.Null) return metadata;
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add(Problems.InvalidMetadata, "metadata", "must be an object of string values");
            return metadata;
        }
        var count = 0;
        foreach (var entry in value.EnumerateObject())
        {
            if (++count > MaxMetadataKeys)
            {
                errors.Add(Problems.InvalidMetadata, "metadata", $"must have at most {MaxMetadataKeys} keys");
                return metadata;
            }
            if (entry.Name.Length is 0 || entry.Name.Length > MaxMetadataKeyChars)
            {
                errors.Add(Problems.InvalidMetadata, "metadata", $"keys must be 1-{MaxMetadataKeyChars} characters");
                continue;
            }
            if (entry.Name.AsSpan().IndexOfAny('\t', '\n', '\r') >= 0)
            {
                // A key names a field: a tab or line break in it is never meant (screening refused other controls).
                errors.Add(Problems.InvalidText, "metadata", "keys must not contain tabs or line breaks");
                continue;
            }
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                errors.Add(Problems.InvalidMetadata, $"metadata.{entry.Name}", "must be a string");
                continue;
            }
            var text = entry.Value.GetString()!;
            if (text.Length > MaxMetadataValueChars)
            {
                errors.Add(Problems.InvalidMetadata, $"metadata.{entry.Name}", $"must be at most {MaxMetadataValueChars} characters");
                continue;
            }
            if (!metadata.TryAdd(entry.Name, text))
                errors.Add(Problems.InvalidMetadata, $"metadata.{entry.Name}", "appears more than once");
        }
        return metadata;
    }

    // Unknown field names are echoed, so keep them short; the card check has already run on them.
    private static string Safe(string name) => name.Length <= 40 ? name : name[..40] + "…";

    private sealed class Errors
    {
        private readonly Dictionary<string, List<string>> _byField = new(StringComparer.Ordinal);
        private string? _firstType;

        public int Count => _byField.Count;

        public void Add(string type, string field, string message)
        {
            _firstType ??= type;
            if (!_byField.TryGetValue(field, out var messages)) _byField[field] = messages = [];
            messages.Add(message);
        }

        public RequestRejection ToRejection()
        {
            var detail = _byField.Count == 1 ? "One field is invalid." : $"{_byField.Count} fields are invalid.";
            return new RequestRejection(_firstType!, "Invalid request", detail,
                _byField.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal));
        }
    }
}
