using Npgsql;
using Payrail.Api;
using Payrail.Auth;
using Payrail.Outbox;
using Payrail.Testing;
using Payrail.Tests.Payments;
using Xunit;

namespace Payrail.Tests.Consumers;

/// <summary>
/// One real payment through the API, its outbox rows put on the topic as the relay would, the six consumers run, and
/// each effect read back through its API under the API's rules: someone else's payment or merchant is 404, a role
/// that may not use a route is 403, both as problem+json.
/// </summary>
public sealed class ReadApiTests(PaymentsApiFixture api, DevKafkaFixture kafka)
    : IClassFixture<PaymentsApiFixture>, IClassFixture<DevKafkaFixture>, IAsyncLifetime
{
    // xunit builds the class for each test: each test pays its own merchant as its own buyer.
    private readonly string _buyer = "b_reader_" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _merchant = "m_reader_" + Guid.NewGuid().ToString("N")[..8];
    private const string Topic = "payments.read-api";
    private readonly string _state = Path.Combine(Path.GetTempPath(), "payrail-read-api-" + Guid.NewGuid().ToString("N"));
    private ConsumerWorker? _worker;
    private Guid _payment;
    private DateOnly _day;

    public async Task InitializeAsync()
    {
        await using (var connection = await api.Postgres.OpenAsync())
        await using (var seed = new NpgsqlCommand("INSERT INTO merchants (id, name) VALUES (@id, 'Reader')", connection))
        {
            seed.Parameters.AddWithValue("id", _merchant);
            await seed.ExecuteNonQueryAsync();
        }
        var created = await api.PostPaymentAsync(api.BuyerToken(_buyer), Guid.NewGuid().ToString(),
            PaymentsApiFixture.Body(amount: 2500, merchantId: _merchant));
        Assert.Equal(201, created.Status);
        _payment = created.PaymentId;
        var events = await OutboxEventsAsync(_payment);
        _day = DateOnly.FromDateTime(events[^1].OccurredAt.UtcDateTime);
        using (var wire = new EventWire(kafka.BootstrapServers)) await wire.ProduceAsync(Topic, [.. events]);
        _worker = await ConsumerWorker.StartAsync(api.Postgres.ConnectionString, kafka.BootstrapServers, Topic, _state);
        await Effects.WaitCaughtUpAsync(kafka.BootstrapServers, Topic, "the consumers handle the payment's events");
    }

    [Fact]
    public async Task The_merchant_of_the_payment_and_ops_read_its_notifications_and_no_one_else_does()
    {
        var path = $"/v1/payments/{_payment}/notifications";
        var merchant = await api.GetAsync(path, MerchantToken(_merchant));
        Assert.Equal(200, merchant.Status);
        var templates = merchant.Json.GetProperty("data").EnumerateArray().Select(n => n.GetProperty("template").GetString()).Order();
        Assert.Equal(["payment_completed_buyer", "payment_completed_merchant"], templates);
        Assert.Equal(200, (await api.GetAsync(path, OpsToken())).Status);

        AssertProblem(await api.GetAsync(path, MerchantToken(PaymentsApiFixture.OtherMerchantId)), 404, Problems.NotFound);
        AssertProblem(await api.GetAsync(path, api.BuyerToken(_buyer)), 403, Problems.Forbidden);
    }

    [Fact]
    public async Task Ops_read_fraud_reviews_and_settlement_and_buyers_may_not()
    {
        var reviews = await api.GetAsync($"/v1/ops/fraud/reviews?payment_id={_payment}", OpsToken());
        Assert.Equal(200, reviews.Status);
        var review = Assert.Single(reviews.Json.GetProperty("data").EnumerateArray());
        Assert.Equal(0, review.GetProperty("score").GetInt32());

        var settlement = await api.GetAsync($"/v1/ops/settlement/{_day:yyyy-MM-dd}", OpsToken());
        Assert.Equal(200, settlement.Status);
        Assert.Equal("text/csv", settlement.ContentType);
        Assert.Single(settlement.Body.Split('\n'), line => line.StartsWith($"{_payment},capture,{_merchant},USD,2500,25.00,", StringComparison.Ordinal));
        // The file is rewritten from the table at most once a second per day (SettlementFileWriter): it catches up.
        var file = Path.Combine(_state, "settlement", $"{_day:yyyy-MM-dd}.csv");
        await Eventually.TrueAsync(async () => File.Exists(file)
                && (await api.GetAsync($"/v1/ops/settlement/{_day:yyyy-MM-dd}", OpsToken())).Body == await File.ReadAllTextAsync(file),
            TimeSpan.FromSeconds(10), "the day's settlement file says what the API says");

        AssertProblem(await api.GetAsync("/v1/ops/fraud/reviews", api.BuyerToken(_buyer)), 403, Problems.Forbidden);
        AssertProblem(await api.GetAsync($"/v1/ops/settlement/{_day:yyyy-MM-dd}", api.BuyerToken(_buyer)), 403, Problems.Forbidden);
        AssertProblem(await api.GetAsync("/v1/ops/settlement/yesterday", OpsToken()), 400, Problems.InvalidRequest);
        AssertProblem(await api.GetAsync("/v1/ops/fraud/reviews?since=soon", OpsToken()), 400, Problems.InvalidRequest);
    }

    [Fact]
    public async Task A_merchant_reads_its_own_analytics_and_another_merchants_do_not_exist()
    {
        var path = $"/v1/merchants/{_merchant}/analytics?from={_day:yyyy-MM-dd}&to={_day:yyyy-MM-dd}";
        var analytics = await api.GetAsync(path, MerchantToken(_merchant));
        Assert.Equal(200, analytics.Status);
        var day = Assert.Single(analytics.Json.GetProperty("days").EnumerateArray());
        var captured = day.GetProperty("statuses").GetProperty("captured");
        Assert.Equal(1, captured.GetProperty("count").GetInt64());
        Assert.Equal(2500, captured.GetProperty("amount_minor").GetInt64());

        AssertProblem(await api.GetAsync(path, MerchantToken(PaymentsApiFixture.OtherMerchantId)), 404, Problems.NotFound);
        AssertProblem(await api.GetAsync(path, api.BuyerToken(_buyer)), 403, Problems.Forbidden);
    }

    [Fact]
    public async Task A_buyer_reads_its_points_with_each_entry_naming_its_payment()
    {
        var loyalty = await api.GetAsync("/v1/loyalty", api.BuyerToken(_buyer));
        Assert.Equal(200, loyalty.Status);
        Assert.Equal(250, loyalty.Json.GetProperty("balance").GetInt64());
        var entry = Assert.Single(loyalty.Json.GetProperty("history").EnumerateArray());
        Assert.Equal(_payment.ToString(), entry.GetProperty("payment_id").GetString());

        Assert.Equal(0, (await api.GetAsync("/v1/loyalty", api.BuyerToken("b_nobody"))).Json.GetProperty("balance").GetInt64());
        AssertProblem(await api.GetAsync("/v1/loyalty", OpsToken()), 403, Problems.Forbidden);
    }

    private static void AssertProblem(ApiAnswer answer, int status, string type)
    {
        Assert.Equal(status, answer.Status);
        Assert.Equal(Problems.ContentType, answer.ContentType);
        Assert.Equal(type, answer.ProblemType);
    }

    private string MerchantToken(string merchantId) => api.Token(Roles.Merchant, "u_" + merchantId, merchantId);
    private string OpsToken() => api.Token(Roles.Ops, "ops_reader");

    private async Task<List<OutboxEvent>> OutboxEventsAsync(Guid paymentId)
    {
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT payload::text FROM outbox WHERE aggregate_id = @id ORDER BY seq", connection);
        command.Parameters.AddWithValue("id", paymentId);
        var events = new List<OutboxEvent>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) events.Add(OutboxEvent.FromJson(reader.GetString(0))!);
        return events;
    }

    public async Task DisposeAsync()
    {
        if (_worker is not null) await _worker.DisposeAsync();
        try { Directory.Delete(_state, recursive: true); } catch (IOException) { }
    }
}
