using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Payrail.Auth;
using Payrail.Testing;
using StackExchange.Redis;
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

    /// <summary>A valid body plus one more member written as raw JSON: lone surrogate escapes cannot be serialized from a C# string.</summary>
    private static string RawMember(string memberJson) =>
        $$"""{"merchant_id":"m_test","amount":1999,"currency":"USD","payment_method":"pm_card_visa",{{memberJson}}}""";

    private static Dictionary<string, string> Meta(string key, string value) => new() { [key] = value };

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
        ["card number followed by its CVV in description"] = new(400, P + "card-number-refused", With("description", "4242 4242 4242 4242 123")),
        ["card number followed by its expiry in description"] = new(400, P + "card-number-refused", With("description", "4242424242424242 12/30")),
        ["card number with no-break spaces in description"] = new(400, P + "card-number-refused", With("description", "4242\u00A04242\u00A04242\u00A04242")),
        ["card number with narrow no-break spaces in a metadata value"] = new(400, P + "card-number-refused", With("metadata", Meta("n", "4242\u202F4242\u202F4242\u202F4242"))),
        ["card number with dots in a metadata value"] = new(400, P + "card-number-refused", With("metadata", Meta("note", "4242.4242.4242.4242"))),
        ["card number with slashes in a metadata value"] = new(400, P + "card-number-refused", With("metadata", Meta("note", "4242/4242/4242/4242"))),
        ["full-width card number in a metadata key"] = new(400, P + "card-number-refused", With("metadata", Meta("\uFF14\uFF12\uFF14\uFF12\uFF14\uFF12\uFF14\uFF12\uFF14\uFF12\uFF14\uFF12\uFF14\uFF12\uFF14\uFF12", "x"))),
        ["Arabic-Indic card number in description"] = new(400, P + "card-number-refused", With("description", "\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662")),
        ["card number as idempotency key"] = new(400, P + "card-number-refused", PaymentsApiFixture.Body(), Key: Card),
        ["card number with dots and CVV in the idempotency key"] = new(400, P + "card-number-refused", PaymentsApiFixture.Body(), Key: "order.4242.4242.4242.4242.123"),
        ["NUL in description"] = new(400, P + "invalid-text", With("description", "a\u0000b")),
        ["NUL in a metadata key"] = new(400, P + "invalid-text", With("metadata", Meta("a\u0000b", "v"))),
        ["NUL in a metadata value"] = new(400, P + "invalid-text", With("metadata", Meta("k", "a\u0000b"))),
        ["lone high surrogate escape in description"] = new(400, P + "invalid-text", RawMember("\"description\":\"a\\ud800b\"")),
        ["lone low surrogate escape in description"] = new(400, P + "invalid-text", RawMember("\"description\":\"a\\udc00b\"")),
        ["lone surrogate escape in a metadata key"] = new(400, P + "invalid-text", RawMember("\"metadata\":{\"a\\ud800\":\"v\"}")),
        ["lone surrogate escape in a metadata value"] = new(400, P + "invalid-text", RawMember("\"metadata\":{\"k\":\"\\udfff\"}")),
        ["lone surrogate escape in an unknown field name"] = new(400, P + "invalid-text", RawMember("\"\\ud800\":1")),
        ["lone surrogate escape in the merchant id"] = new(400, P + "invalid-text", """{"merchant_id":"m\ud800","amount":1999,"currency":"USD","payment_method":"pm_card_visa"}"""),
        ["terminal escape sequence in description"] = new(400, P + "invalid-text", With("description", "\u001b[2Jpaid")),
        ["C1 control character in a metadata value"] = new(400, P + "invalid-text", With("metadata", Meta("k", "a\u009bb"))),
        ["line break in a metadata key"] = new(400, P + "invalid-text", With("metadata", Meta("a\nb", "v"))),
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
        var redisKeysBefore = await RedisKeyCountAsync();

        var answer = await api.PostPaymentAsync(TokenFor(c.Token), c.Key == "default" ? Guid.NewGuid().ToString() : c.Key, c.Body, c.ContentType);

        Assert.Equal(c.Status, answer.Status);
        Assert.Equal("application/problem+json", answer.ContentType);
        Assert.Equal(c.Type, answer.ProblemType);
        Assert.Equal(c.Status, answer.Json.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(answer.Json.GetProperty("title").GetString()));
        // What the client sent is never echoed; the trace id (whatever its member's casing) is random hex and may hold any
        // four digits, so it is left out of the check.
        foreach (var member in answer.Json.EnumerateObject().Where(m => !m.Name.Contains("trace", StringComparison.OrdinalIgnoreCase)))
            Assert.DoesNotContain("4242", member.Value.GetRawText());
        Assert.Equal(before, await api.RowCountsAsync());
        Assert.Equal(redisKeysBefore, await RedisKeyCountAsync());
    }

    public static TheoryData<string> UnstorableTextCases => new(
        "NUL in description", "NUL in a metadata key", "NUL in a metadata value",
        "lone high surrogate escape in description", "lone low surrogate escape in description",
        "lone surrogate escape in a metadata key", "lone surrogate escape in a metadata value");

    /// <summary>Issue 7, defect 5: PostgreSQL refused U+0000 after the lease was taken, and the retry got 409 for the lease's 30 s.</summary>
    [Theory]
    [MemberData(nameof(UnstorableTextCases))]
    public async Task Unstorable_text_leaves_its_idempotency_key_free_for_an_immediate_valid_retry(string name)
    {
        var token = api.BuyerToken("b_" + Guid.NewGuid().ToString("N")[..10]);
        var key = Guid.NewGuid().ToString();

        var refused = await api.PostPaymentAsync(token, key, Cases[name].Body);
        var retried = await api.PostPaymentAsync(token, key, PaymentsApiFixture.Body());

        Assert.Equal(400, refused.Status);
        Assert.Equal(P + "invalid-text", refused.ProblemType);
        Assert.Equal(201, retried.Status);
    }

    [Fact]
    public async Task Invalid_utf8_in_a_string_is_refused_as_invalid_text()
    {
        var body = Encoding.UTF8.GetBytes(RawMember("\"description\":\"a_b\""));
        body[Array.IndexOf(body, (byte)'_')] = 0xFF;
        var before = await api.RowCountsAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/payments") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", api.BuyerToken("b_bad_input"));
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());

        using var response = await api.Http.SendAsync(request);
        var answer = await ApiAnswer.ReadAsync(response);

        Assert.Equal(400, answer.Status);
        Assert.Equal(P + "invalid-text", answer.ProblemType);
        Assert.Equal(before, await api.RowCountsAsync());
    }

    [Fact]
    public async Task Tabs_and_line_breaks_in_description_and_metadata_values_are_kept()
    {
        var fields = JsonSerializer.Deserialize<Dictionary<string, object?>>(PaymentsApiFixture.Body(description: "line one\nline two"))!;
        fields["metadata"] = Meta("gift", "wrap it\tplease\r\nthanks");
        var body = JsonSerializer.Serialize(fields);

        var answer = await api.PostPaymentAsync(api.BuyerToken("b_text_ok"), Guid.NewGuid().ToString(), body);

        Assert.Equal(201, answer.Status);
        Assert.Equal("line one\nline two", answer.Json.GetProperty("description").GetString());
        Assert.Equal("wrap it\tplease\r\nthanks", answer.Json.GetProperty("metadata").GetProperty("gift").GetString());
    }

    /// <summary>A UUID is the Idempotency-Key we recommend: its digit groups must never read as a card number.</summary>
    [Fact]
    public async Task Uuid_idempotency_keys_whose_digits_join_into_a_luhn_valid_number_are_accepted()
    {
        // Digits across the last two groups read 4242424242424242: a card number, were the dash a separator here.
        var answer = await api.PostPaymentAsync(api.BuyerToken("b_uuid_key"), "0000a000-0000-4000-4242-424242424242", PaymentsApiFixture.Body());

        Assert.Equal(201, answer.Status);
    }

    private async Task<long> RedisKeyCountAsync()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(api.Redis.Configuration);
        return await redis.GetServers()[0].DatabaseSizeAsync();
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
