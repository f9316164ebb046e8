using System.Collections.Concurrent;
using System.Diagnostics;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Webhooks;

/// <summary>
/// What a payment and its webhook cost PostgreSQL, counted from Npgsql's own trace (one activity per command or batch
/// sent, tagged with its database): the create is transaction 1 (one statement) and transaction 2 (one batch); the
/// common delivery reads its event id and its payment in one round trip, then commits the transition with the event id
/// in one batch.
/// </summary>
public sealed class DatabaseRoundTripTests(WebhookFixture api) : IClassFixture<WebhookFixture>, IDisposable
{
    private readonly SignedWebhooks webhooks = api.Webhooks();

    public void Dispose() => webhooks.Dispose();

    [Fact]
    public async Task A_payment_is_created_in_two_database_round_trips()
    {
        var token = api.BuyerToken("b_" + Guid.NewGuid().ToString("N")[..10]);

        var (created, roundTrips) = await CountRoundTripsAsync(() =>
            api.PostPaymentAsync(token, Guid.NewGuid().ToString(), Payrail.Tests.Payments.PaymentsApiFixture.Body()));

        Assert.Equal((201, "captured"), (created.Status, created.PaymentStatus));
        Assert.True(roundTrips.Count == 2, "round trips: " + string.Join(" | ", roundTrips));
    }

    [Fact]
    public async Task A_payment_event_is_checked_read_and_applied_in_two_database_round_trips()
    {
        var (_, intent, _) = await api.ThreeDSecurePaymentAsync();
        await api.PspSim.AuthenticateAsync(intent);
        var succeeded = await webhooks.EventAsync(intent, "payment_intent.succeeded");

        var (delivered, roundTrips) = await CountRoundTripsAsync(() => webhooks.DeliverAsync(succeeded));

        Assert.Equal((200, "applied"), (delivered.Status, delivered.Outcome));
        Assert.True(roundTrips.Count == 2, "round trips: " + string.Join(" | ", roundTrips));
    }

    [Fact]
    public async Task A_duplicate_delivery_is_answered_after_one_database_round_trip()
    {
        var (_, intent, _) = await api.ThreeDSecurePaymentAsync();
        await api.PspSim.AuthenticateAsync(intent);
        var succeeded = await webhooks.EventAsync(intent, "payment_intent.succeeded");
        Assert.Equal("applied", (await webhooks.DeliverAsync(succeeded)).Outcome);

        var (again, roundTrips) = await CountRoundTripsAsync(() => webhooks.DeliverAsync(succeeded));

        Assert.Equal((200, "duplicate"), (again.Status, again.Outcome));
        Assert.True(roundTrips.Count == 1, "round trips: " + string.Join(" | ", roundTrips));
    }

    /// <summary>Npgsql's activities on this fixture's database while <paramref name="act"/> runs (its query texts).</summary>
    private async Task<(T Result, IReadOnlyCollection<string> RoundTrips)> CountRoundTripsAsync<T>(Func<Task<T>> act)
    {
        var database = api.Postgres.DatabaseName;
        var seen = new ConcurrentQueue<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.TagObjects.Any(tag => database.Equals(tag.Value as string, StringComparison.Ordinal)))
                    seen.Enqueue(activity.DisplayName + ": " + (activity.GetTagItem("db.query.text") ?? activity.GetTagItem("db.statement")));
            },
        };
        ActivitySource.AddActivityListener(listener);
        var result = await act();
        return (result, seen.ToArray());
    }
}
