using PspSim.BalanceTransactions;
using PspSim.PaymentIntents;
using PspSim.Storage;
using Xunit;

namespace PspSim.Tests;

/// <summary>
/// Eviction runs under the store lock every request takes: its work must follow what it evicts, not what the store
/// holds (a whole-table rebuild there held the lock 75–750 ms at 50,000 payments). Counted in rows, not timed.
/// </summary>
public sealed class EvictionWorkTests : IDisposable
{
    private const int Payments = 3_000;
    private readonly string dataDir = Directory.CreateTempSubdirectory("pspsim-eviction-").FullName;

    public void Dispose() => Directory.Delete(dataDir, recursive: true);

    [Fact]
    public void Evicting_ten_payments_from_thousands_reads_about_as_many_rows_as_it_removes()
    {
        using var store = new SimStore(dataDir, TimeProvider.System, new PspSimOptions { MaxStoredPaymentIntents = Payments - 10 });
        // The two oldest can still change (awaiting capture): they stay, and are stepped over.
        for (var i = 0; i < Payments; i++) Record(store, i, i < 2 ? PiStatus.RequiresCapture : PiStatus.Succeeded);

        var report = store.Compact();

        // Ten finished payments, each an intent, its charge and its balance transaction.
        Assert.Equal(30, report.Evicted);
        Assert.InRange(report.EvictionRowsExamined, 30, 60);
        Assert.Equal(Payments - 10, store.PaymentIntents.Count);
        Assert.Equal(["pi_0", "pi_1", "pi_12"], store.PaymentIntents.OldestFirst().Take(3).Select(pi => pi.Id));
        Assert.Null(store.Charges.Find("ch_2"));
        Assert.Null(store.BalanceTransactions.Find("txn_11"));
        Assert.NotNull(store.BalanceTransactions.Find("txn_12"));
        Assert.Equal(Payments - 10, store.Charges.Count);
        Assert.Equal(Payments - 10, store.BalanceTransactions.Count);
    }

    private static void Record(SimStore store, int n, string status) => store.Write(new RequestInfo(null, null), tx =>
    {
        tx.Save(new PaymentIntentState
        {
            Id = $"pi_{n}", Created = tx.Now, Amount = 1_000, Currency = "eur", Status = status, CaptureMethod = "automatic",
            ClientSecret = $"pi_{n}_secret",
        });
        tx.Save(new ChargeState
        {
            Id = $"ch_{n}", Created = tx.Now, Amount = 1_000, Currency = "eur", PaymentIntent = $"pi_{n}", PaymentMethod = "pm_card_visa",
            Brand = "visa", Last4 = "4242", Status = "succeeded", Captured = status == PiStatus.Succeeded,
        });
        tx.Save(new BalanceTransactionState
        {
            Id = $"txn_{n}", Created = tx.Now, Amount = 1_000, Fee = 0, Net = 1_000, Currency = "eur", Source = $"ch_{n}",
            Type = "charge", ReportingCategory = "charge", AvailableOn = tx.Now,
        });
        return 0;
    });
}
