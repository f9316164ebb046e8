using System.Text.Json;
using PspSim.Faults;
using PspSim.PaymentIntents;
using PspSim.Storage;
using PspSim.Stripe;

namespace PspSim.BalanceTransactions;

/// <summary>
/// Control-plane calls on balance transactions (not Stripe's API), for reconciliation's tests and benchmark:
/// <list type="bullet">
/// <item><c>POST /_sim/balance_transactions/{id}/fee {"fee": n}</c>: a PSP that books another fee than it charged at first
/// (fee in Stripe's unit of the transaction's currency, 0..amount; net follows). Stripe never changes a balance
/// transaction: this is a fault.</item>
/// <item><c>POST /_sim/balance_transactions/bulk {"count", "tag", "created", "amount", "currency"}</c>: <c>count</c>
/// captured charges booked at once, each with its balance transaction (fee from the schedule), without PaymentIntent
/// objects: charge <c>ch_{tag}_{i}</c> of PaymentIntent <c>pi_{tag}_{i}</c>, i zero-padded to 7 digits from 0. Written in
/// chunks of <see cref="BulkChunk"/> (the store lock is held per chunk, not for the whole count).</item>
/// </list>
/// </summary>
public static class BalanceTransactionControls
{
    public const int MaxBulkCount = 1_000_000;
    private const int BulkChunk = 10_000;
    private static readonly HashSet<string> FeeKeys = ["fee"];
    private static readonly HashSet<string> BulkKeys = ["count", "tag", "created", "amount", "currency"];

    public static void Map(RouteGroupBuilder sim)
    {
        sim.MapPost("/balance_transactions/{id}/fee", SetFeeAsync);
        sim.MapPost("/balance_transactions/bulk", BulkAsync);
    }

    private static async Task<IResult> SetFeeAsync(HttpContext ctx, string id, SimStore store)
    {
        var (json, problem) = await ControlPlane.ReadObjectAsync(ctx, FeeKeys);
        if (problem is not null) return problem;
        if (!json.TryGetProperty("fee", out var el) || el.ValueKind != JsonValueKind.Number || !el.TryGetInt64(out var fee) || fee < 0)
            return ControlPlane.Problem("fee must be a non-negative integer");
        return store.Write(new RequestInfo(null, null), tx =>
        {
            var t = tx.Store.BalanceTransactions.Find(id);
            if (t is null) return Results.NotFound();
            if (t.Type != "charge" || fee > t.Amount) return ControlPlane.Problem("fee applies to a charge's balance transaction, within 0..amount");
            t.Fee = fee;
            t.Net = t.Amount - fee;
            tx.Save(t);
            return Results.Text(StripeJson.BalanceTransaction(t, tx.Now).ToJsonString(), "application/json");
        });
    }

    private static async Task<IResult> BulkAsync(HttpContext ctx, SimStore store, PspSimOptions options)
    {
        var (json, problem) = await ControlPlane.ReadObjectAsync(ctx, BulkKeys);
        if (problem is not null) return problem;
        var count = ControlPlane.Int(json, "count", 1, MaxBulkCount, out var p1);
        var amount = ControlPlane.Int(json, "amount", 1, 99_999_999, out var p2) ?? 1_000;
        if ((p1 ?? p2) is { } bad) return bad;
        if (count is null) return ControlPlane.Problem($"count is required: 1 to {MaxBulkCount}");
        var tag = json.TryGetProperty("tag", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
        if (tag.Length is < 1 or > 16 || !tag.All(char.IsAsciiLetterOrDigit)) return ControlPlane.Problem("tag must be 1 to 16 ASCII letters or digits");
        var currency = json.TryGetProperty("currency", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : options.SettlementCurrency;
        if (!Currencies.IsKnown(currency)) return ControlPlane.Problem("currency must be one pspsim supports (lowercase ISO code)");
        long? created = json.TryGetProperty("created", out var cr) && cr.ValueKind == JsonValueKind.Number && cr.TryGetInt64(out var at) ? at : null;
        if (json.TryGetProperty("created", out _) && created is null) return ControlPlane.Problem("created must be a unix time in seconds");

        for (var start = 0; start < count; start += BulkChunk)
        {
            var end = Math.Min(count.Value, start + BulkChunk);
            store.Write(new RequestInfo(null, null), tx =>
            {
                for (var i = start; i < end; i++) Book(tx, tag, i, created ?? tx.Now, amount, currency, options);
                return 0;
            });
        }
        return Results.Ok(new { count, charge_prefix = $"ch_{tag}_", payment_intent_prefix = $"pi_{tag}_", digits = 7 });
    }

    private static void Book(SimStore.WriteTx tx, string tag, int i, long created, long amount, string currency, PspSimOptions options)
    {
        var suffix = i.ToString("D7", System.Globalization.CultureInfo.InvariantCulture);
        var booked = Settlement.Book(amount, currency, options);
        var fee = Settlement.FeeFor(booked.Amount, booked.Currency, options);
        var charge = new ChargeState
        {
            Id = $"ch_{tag}_{suffix}", Created = created, Amount = amount, Currency = currency, PaymentIntent = $"pi_{tag}_{suffix}",
            PaymentMethod = "pm_card_visa", Brand = "visa", Last4 = "4242", Status = "succeeded", Captured = true, AmountCaptured = amount,
        };
        var txn = new BalanceTransactionState
        {
            Id = $"txn_{tag}_{suffix}", Created = created, Amount = booked.Amount, Fee = fee, Net = booked.Amount - fee,
            Currency = booked.Currency, ExchangeRate = booked.ExchangeRate, Source = charge.Id, Type = "charge", ReportingCategory = "charge",
            AvailableOn = created + options.AvailableAfterDays * 86_400L,
        };
        charge.BalanceTransaction = txn.Id;
        tx.Save(txn);
        tx.Save(charge);
    }
}
