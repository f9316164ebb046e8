using System.Text.Json;
using Payrail.Auth;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Payments;

/// <summary>DESIGN.md "Money and bad input": every refusal is problem+json with a stable type, and writes nothing.</summary>
public sealed class BadInputTests(PaymentsApiFixture api) : IClassFixture<PaymentsApiFixture>
{
    private const string P = "https://payrail.dev/problems/";
    private const string Card = "4242424242424242";

    private enum TokenKind { Buyer, None, Expired, ForeignKey, Merchant, Garbage }

    private sealed record Case(int Status, string Type, string Body, TokenKind Token = TokenKind.Buyer, string? Key = "default",
        string ContentType = "application/json");

    private static string With(string field, object? value)
    {
        var body = JsonSerializer.Deserialize<Dictionary<string, object?>>(PaymentsApiFixture.Body())!;
        body[field] = value;
        return JsonSerializer.Serialize(body);
    }

    private static string Without(string field)
    {
        var body = JsonSerializer.Deserialize<Dictionary<string, object?>>(PaymentsApiFixture.Body())!;
        body.Remove(field);
        return JsonSerializer.Serialize(body);
    }

    private static string Raw(string amountJson) =>
        $$"""{"merchant_id":"m_test","amount":{{amountJson}},"currency":"USD","payment_method":"pm_card_visa"}""";

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["no token"] = new(401, P + "unauthorized", PaymentsApiFixture.Body(), TokenKind.None),
        ["expired token"] = new(401, P + "unauthorized", PaymentsApiFixture.Body(), TokenKind.Expired),
        ["token signed with another key"] = new(401, P + "unauthorized", PaymentsApiFixture.Body(), TokenKind.ForeignKey),
        ["garbage token"] = new(401, P + "unauthorized", PaymentsApiFixture.Body(), TokenKind.Garbage),
        ["merchant token"] = new(403, P + "forbidden", PaymentsApiFixture.Body(), TokenKind.Merchant),
        ["missing idempotency key"] = new(400, P + "invalid-idempotency-key", PaymentsApiFixture.Body(), Key: null),
        ["empty idempotency key"] = new(400, P + "invalid-idempotency-key", PaymentsApiFixture.Body(), Key: ""),
        ["idempotency key of 256 characters"] = new(400, P + "invalid-idempotency-key", PaymentsApiFixture.Body(), Key: new string('k', 256)),
        ["idempotency key with a space"] = new(400, P + "invalid-idempotency-key", PaymentsApiFixture.Body(), Key: "two words"),
        ["text/plain body"] = new(415, P + "unsupported-media-type", PaymentsApiFixture.Body(), ContentType: "text/plain"),
        ["body over 64 KiB"] = new(413, P + "body-too-large", With("description", new string('x', 70_000))),
        ["malformed JSON"] = new(400, P + "invalid-json", "{\"amount\": "),
        ["JSON array"] = new(400, P + "invalid-json", "[1,2]"),
        ["amount missing"] = new(400, P + "invalid-amount", Without("amount")),
        ["amount zero"] = new(400, P + "invalid-amount", Raw("0")),
        ["amount negative"] = new(400, P + "invalid-amount", Raw("-5")),
        ["amount fractional"] = new(400, P + "invalid-amount", Raw("10.5")),
        ["amount with exponent"] = new(400, P + "invalid-amount", Raw("1e3")),
        ["amount as string"] = new(400, P + "invalid-amount", Raw("\"100\"")),
        ["amount over the limit"] = new(400, P + "invalid-amount", Raw("100000000")),
        ["amount beyond long"] = new(400, P + "invalid-amount", Raw("99999999999999999999999")),
        ["unknown currency"] = new(400, P + "unknown-currency", With("currency", "XYZ")),
        ["currency not a code"] = new(400, P + "unknown-currency", With("currency", "dollars")),
        ["currency missing"] = new(400, P + "invalid-request", Without("currency")),
        ["card number as payment method"] = new(400, P + "card-number-refused", With("payment_method", Card)),
        ["card number with spaces in description"] = new(400, P + "card-number-refused", With("description", "my card is 4242 4242 4242 4242 thanks")),
        ["card number with dashes in metadata value"] = new(400, P + "card-number-refused", With("metadata", new Dictionary<string, string> { ["note"] = "4242-4242-4242-4242" })),
        ["card number as metadata key"] = new(400, P + "card-number-refused", With("metadata", new Dictionary<string, string> { [Card] = "x" })),
        ["card number in an unknown field"] = new(400, P + "card-number-refused", With("card", Card)),
        ["metadata with 21 keys"] = new(400, P + "invalid-metadata", With("metadata", Enumerable.Range(0, 21).ToDictionary(i => $"k{i}", i => "v"))),
        ["metadata key of 41 characters"] = new(400, P + "invalid-metadata", With("metadata", new Dictionary<string, string> { [new string('k', 41)] = "v" })),
        ["metadata value of 501 characters"] = new(400, P + "invalid-metadata", With("metadata", new Dictionary<string, string> { ["k"] = new string('v', 501) })),
        ["metadata value not a string"] = new(400, P + "invalid-metadata", With("metadata", new Dictionary<string, object> { ["k"] = 5 })),
        ["metadata not an object"] = new(400, P + "invalid-metadata", With("metadata", "k=v")),
        ["description of 1001 characters"] = new(400, P + "invalid-request", With("description", new string('d', 1001))),
        ["payment method not a token"] = new(400, P + "invalid-request", With("payment_method", "tok_visa")),
        ["capture neither automatic nor manual"] = new(400, P + "invalid-request", With("capture", "later")),
        ["merchant id missing"] = new(400, P + "invalid-request", Without("merchant_id")),
        ["unknown field"] = new(400, P + "invalid-request", With("tip", 5)),
        ["unknown merchant"] = new(422, P + "unknown-merchant", With("merchant_id", "m_nobody")),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Refused_request_answers_a_problem_and_writes_nothing(string name)
    {
        var c = Cases[name];
        var before = await api.RowCountsAsync();

        var answer = await api.PostPaymentAsync(TokenFor(c.Token), c.Key == "default" ? Guid.NewGuid().ToString() : c.Key, c.Body, c.ContentType);

        Assert.Equal(c.Status, answer.Status);
        Assert.Equal("application/problem+json", answer.ContentType);
        Assert.Equal(c.Type, answer.ProblemType);
        Assert.Equal(c.Status, answer.Json.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(answer.Json.GetProperty("title").GetString()));
        Assert.DoesNotContain("4242", answer.Body);
        Assert.Equal(before, await api.RowCountsAsync());
    }

    [Fact]
    public async Task Field_errors_name_every_invalid_field()
    {
        var answer = await api.PostPaymentAsync(api.BuyerToken("b_fields"), Guid.NewGuid().ToString(),
            """{"merchant_id":"m_test","amount":-1,"currency":"XYZ","payment_method":"visa"}""");

        Assert.Equal(400, answer.Status);
        var errors = answer.Json.GetProperty("errors");
        Assert.True(errors.TryGetProperty("amount", out _));
        Assert.True(errors.TryGetProperty("currency", out _));
        Assert.True(errors.TryGetProperty("payment_method", out _));
    }

    [Fact]
    public async Task A_refused_request_does_not_burn_its_idempotency_key()
    {
        var token = api.BuyerToken("b_" + Guid.NewGuid().ToString("N")[..10]);
        var key = Guid.NewGuid().ToString();

        var refused = await api.PostPaymentAsync(token, key, With("currency", "XYZ"));
        var accepted = await api.PostPaymentAsync(token, key, PaymentsApiFixture.Body());

        Assert.Equal(400, refused.Status);
        Assert.Equal(201, accepted.Status);
    }

    [Fact]
    public async Task Unknown_routes_and_methods_answer_problems_too()
    {
        var unknown = await api.GetAsync("/v1/nothing-here", api.BuyerToken("b_routes"));
        using var delete = await api.Http.DeleteAsync("/v1/payments");

        Assert.Equal(404, unknown.Status);
        Assert.Equal("https://payrail.dev/problems/not-found", unknown.ProblemType);
        Assert.Equal(405, (int)delete.StatusCode);
        Assert.Equal("application/problem+json", delete.Content.Headers.ContentType?.MediaType);
    }

    private string? TokenFor(TokenKind kind) => kind switch
    {
        TokenKind.None => null,
        TokenKind.Buyer => api.BuyerToken("b_bad_input"),
        TokenKind.Merchant => api.Token(Roles.Merchant, "clerk", PaymentsApiFixture.MerchantId),
        TokenKind.Expired => DevTokens.Issue(api.Auth, Roles.Buyer, "b_bad_input", null, TimeSpan.FromMinutes(1), DateTimeOffset.UtcNow.AddHours(-1)),
        TokenKind.ForeignKey => DevTokens.Issue(new AuthOptions(api.Auth.Issuer, api.Auth.Audience,
            new Microsoft.IdentityModel.Tokens.SymmetricSecurityKey(new byte[32])), Roles.Buyer, "b_bad_input", null, TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow),
        TokenKind.Garbage => "not.a.token",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
