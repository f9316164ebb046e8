using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PspSim.Api;
using PspSim.BalanceTransactions;
using PspSim.PaymentIntents;
using PspSim.Payouts;
using PspSim.Refunds;
using PspSim.Storage;
using PspSim.Stripe;
using PspSim.Tests.Oracle;
using Xunit;

namespace PspSim.Tests;

/// <summary>
/// pspsim is the strict stand-in every test trusts: writing its objects straight to a Utf8JsonWriter must not move a
/// byte. Each object kind in each state it can reach, and each expand[] path, is written by <see cref="StripeWriter"/>
/// and by the node-tree builders it replaced (kept verbatim as Oracle/), and the two are compared byte for byte.
/// </summary>
public sealed class StripeWriterTests : IDisposable
{
    private const long Now = 1_800_000_000;
    private readonly string _dataDir = Directory.CreateTempSubdirectory("pspsim-writer-").FullName;
    private readonly SimStore _store;

    public StripeWriterTests()
    {
        _store = new SimStore(_dataDir, TimeProvider.System);
        _store.Write(new RequestInfo(null, null), tx =>
        {
            foreach (var pi in Intents()) tx.Save(pi);
            foreach (var ch in Charges()) tx.Save(ch);
            foreach (var re in Refunds()) tx.Save(re);
            foreach (var t in BalanceTransactions()) tx.Save(t);
            foreach (var po in Payouts()) tx.Save(po);
            return 0;
        });
    }

    public void Dispose()
    {
        _store.Dispose();
        Directory.Delete(_dataDir, recursive: true);
    }

    [Fact]
    public void Every_payment_intent_state_is_written_byte_for_byte_as_the_tree_builder_wrote_it()
    {
        foreach (var pi in Intents())
            Same(pi.Id, TreeStripeJson.PaymentIntent(pi), w => StripeWriter.PaymentIntent(w, pi, Expansion.None));
    }

    [Fact]
    public void Every_charge_state_is_written_byte_for_byte_as_the_tree_builder_wrote_it()
    {
        foreach (var ch in Charges()) Same(ch.Id, TreeStripeJson.Charge(ch), w => StripeWriter.Charge(w, ch, Expansion.None));
    }

    [Fact]
    public void Every_refund_state_is_written_byte_for_byte_as_the_tree_builder_wrote_it()
    {
        foreach (var re in Refunds()) Same(re.Id, TreeStripeJson.Refund(re), w => StripeWriter.Refund(w, re, Expansion.None));
    }

    [Fact]
    public void Every_balance_transaction_and_payout_is_written_byte_for_byte_as_the_tree_builder_wrote_it()
    {
        foreach (var t in BalanceTransactions())
        {
            // Both sides of available_on: pending, then available.
            foreach (var now in new[] { t.AvailableOn - 1, t.AvailableOn })
                Same($"{t.Id} at {now}", TreeStripeJson.BalanceTransaction(t, now), w => StripeWriter.BalanceTransaction(w, t, now, Expansion.None));
        }
        foreach (var po in Payouts()) Same(po.Id, TreeStripeJson.Payout(po), w => StripeWriter.Payout(w, po, Expansion.None));
    }

    [Fact]
    public void The_tree_forms_other_endpoints_and_events_use_are_read_back_from_the_same_bytes()
    {
        foreach (var ch in Charges()) Assert.Equal(TreeStripeJson.Charge(ch).ToJsonString(), StripeJson.Charge(ch).ToJsonString());
        foreach (var pi in Intents()) Assert.Equal(TreeStripeJson.PaymentIntent(pi).ToJsonString(), StripeJson.PaymentIntent(pi).ToJsonString());
        foreach (var re in Refunds()) Assert.Equal(TreeStripeJson.Refund(re).ToJsonString(), StripeJson.Refund(re).ToJsonString());
    }

    public static TheoryData<string, string, string> ExpandPaths => new()
    {
        { "payment_intent", "pi_manual", "latest_charge" },
        { "payment_intent", "pi_manual", "latest_charge.balance_transaction" },
        { "payment_intent", "pi_succeeded", "latest_charge.balance_transaction.source" },
        { "payment_intent", "pi_succeeded", "latest_charge.payment_intent" },
        { "payment_intent", "pi_new", "latest_charge" },
        { "charge", "ch_captured", "balance_transaction,payment_intent" },
        { "charge", "ch_captured", "payment_intent.latest_charge.balance_transaction" },
        { "charge", "ch_orphan", "payment_intent,balance_transaction" },
        { "charge", "ch_declined", "balance_transaction" },
        { "refund", "re_failed", "balance_transaction,charge,payment_intent,failure_balance_transaction" },
        { "refund", "re_failed", "charge.balance_transaction.source,failure_balance_transaction.source" },
        { "refund", "re_pending", "failure_balance_transaction,charge,charge" },
        { "balance_transaction", "txn_charge", "source" },
        { "balance_transaction", "txn_refund", "source" },
        { "balance_transaction", "txn_payout", "source" },
        { "payout", "po_1", "balance_transaction" },
        { "payout", "po_1", "balance_transaction.source" },
    };

    [Theory]
    [MemberData(nameof(ExpandPaths))]
    public void Expanded_references_are_written_inline_as_the_tree_expander_replaced_them(string kind, string id, string paths)
    {
        var expand = paths.Split(',');
        var (tree, write) = kind switch
        {
            "payment_intent" => One(TreeStripeJson.PaymentIntent(_store.PaymentIntents.Find(id)!), (w, x) => StripeWriter.PaymentIntent(w, _store.PaymentIntents.Find(id)!, x)),
            "charge" => One(TreeStripeJson.Charge(_store.Charges.Find(id)!), (w, x) => StripeWriter.Charge(w, _store.Charges.Find(id)!, x)),
            "refund" => One(TreeStripeJson.Refund(_store.Refunds.Find(id)!), (w, x) => StripeWriter.Refund(w, _store.Refunds.Find(id)!, x)),
            "balance_transaction" => One(TreeStripeJson.BalanceTransaction(_store.BalanceTransactions.Find(id)!, Now),
                (w, x) => StripeWriter.BalanceTransaction(w, _store.BalanceTransactions.Find(id)!, Now, x)),
            _ => One(TreeStripeJson.Payout(_store.Payouts.Find(id)!), (w, x) => StripeWriter.Payout(w, _store.Payouts.Find(id)!, x)),
        };
        TreeExpander.Apply(tree, expand, _store, Now);
        Same($"{id} expand {paths}", tree, w => write(w, Expansion.Of(expand, _store, Now)));
    }

    [Fact]
    public void A_balance_transaction_page_with_sources_expanded_is_written_byte_for_byte_as_the_tree_envelope_was()
    {
        var items = BalanceTransactions().Select(t => _store.BalanceTransactions.Find(t.Id)!).ToList();
        foreach (var hasMore in new[] { true, false })
        {
            string[] expand = ["data.source"];
            var tree = TreeStripeJson.List("/v1/balance_transactions", items.Select(t => TreeStripeJson.BalanceTransaction(t, Now)), hasMore);
            TreeExpander.Apply(tree, expand, _store, Now, isList: true);
            var x = Expansion.Of(expand, _store, Now, isList: true);

            Same($"page has_more={hasMore}", tree,
                w => StripeWriter.List(w, "/v1/balance_transactions", items, hasMore, (w, t) => StripeWriter.BalanceTransaction(w, t, Now, x)));
        }
        var empty = TreeStripeJson.List("/v1/balance_transactions", [], false);
        Same("empty page", empty, w => StripeWriter.List(w, "/v1/balance_transactions", Array.Empty<BalanceTransactionState>(), false,
            (w, t) => StripeWriter.BalanceTransaction(w, t, Now, Expansion.None)));
    }

    private static (JsonObject Tree, Action<Utf8JsonWriter, Expansion> Write) One(JsonObject tree, Action<Utf8JsonWriter, Expansion> write) => (tree, write);

    private static void Same(string what, JsonObject tree, Action<Utf8JsonWriter> write)
    {
        using var json = PooledJson.Write(write);
        var written = Encoding.UTF8.GetString(json.Written.Span);
        Assert.True(tree.ToJsonString() == written, $"{what}:\n tree   {tree.ToJsonString()}\n writer {written}");
    }

    // Metadata and free text with what JSON escapes (quotes, controls, HTML-sensitive and non-ASCII characters).
    private static Dictionary<string, string> Metadata() => new()
    {
        ["payrail_payment_id"] = "7d4f0c3e-5b7a-4c1e-9f0e-2a1b3c4d5e6f",
        ["note \"quoted\""] = "<b>&'+ café ü 日本 \u0001 \\ /",
    };

    private static IEnumerable<PaymentIntentState> Intents()
    {
        PaymentIntentState Pi(string id, string status) => new()
        {
            Id = id, Created = Now - 600, Amount = 2_000, Currency = "usd", Status = status, CaptureMethod = "automatic",
            ClientSecret = id + "_secret_abc",
        };
        yield return Pi("pi_new", PiStatus.RequiresPaymentMethod);
        var succeeded = Pi("pi_succeeded", PiStatus.Succeeded);
        succeeded.AutomaticPaymentMethods = true;
        succeeded.AllowRedirects = "never";
        succeeded.PaymentMethod = "pm_card_visa";
        succeeded.AmountReceived = 2_000;
        succeeded.LatestCharge = "ch_captured";
        succeeded.Metadata = Metadata();
        succeeded.Description = "Order #1 <é>";
        succeeded.ReceiptEmail = "a@example.com";
        succeeded.StatementDescriptor = "PAYRAIL";
        succeeded.StatementDescriptorSuffix = "ORDER1";
        yield return succeeded;
        var automatic = Pi("pi_automatic_default", PiStatus.RequiresConfirmation);
        automatic.AutomaticPaymentMethods = true;
        automatic.SetupFutureUsage = "off_session";
        yield return automatic;
        var manual = Pi("pi_manual", PiStatus.RequiresCapture);
        manual.CaptureMethod = "manual";
        manual.AmountCapturable = 2_000;
        manual.LatestCharge = "ch_authorized";
        manual.PaymentMethodTypes = ["card", "link"];
        yield return manual;
        var redirect = Pi("pi_3ds_redirect", PiStatus.RequiresAction);
        redirect.NextActionUrl = "http://127.0.0.1:9/3ds?pi=pi_3ds_redirect&x=<1>";
        redirect.ReturnUrl = "https://shop.example/return?a=1&b=2";
        yield return redirect;
        var sdk = Pi("pi_3ds_sdk", PiStatus.RequiresAction);
        sdk.NextActionUrl = "http://127.0.0.1:9/3ds?pi=pi_3ds_sdk";
        yield return sdk;
        var declined = Pi("pi_declined", PiStatus.RequiresPaymentMethod);
        declined.LatestCharge = "ch_declined";
        // Stored as the tree builder's text; written spaced and escaped otherwise, it must still come out the same.
        declined.LastPaymentError = """{ "code": "card_declined", "decline_code": "insufficient_funds", "message": "Votre carte a \u00e9t\u00e9 refus\u00e9e <&>", "type": "card_error" }""";
        yield return declined;
        var canceled = Pi("pi_canceled", PiStatus.Canceled);
        canceled.CanceledAt = Now - 60;
        canceled.CancellationReason = "requested_by_customer";
        yield return canceled;
        var processing = Pi("pi_processing", PiStatus.Processing);
        processing.SettleAt = Now + 10;
        yield return processing;
    }

    private static IEnumerable<ChargeState> Charges()
    {
        ChargeState Ch(string id, string pi, string status = "succeeded") => new()
        {
            Id = id, Created = Now - 590, Amount = 2_000, Currency = "usd", PaymentIntent = pi, PaymentMethod = "pm_card_visa",
            Brand = "visa", Last4 = "4242", Status = status,
        };
        var captured = Ch("ch_captured", "pi_succeeded");
        captured.Captured = true;
        captured.AmountCaptured = 2_000;
        captured.BalanceTransaction = "txn_charge";
        captured.Metadata = Metadata();
        captured.Description = "Order #1";
        captured.StatementDescriptor = "PAYRAIL* ORDER1";
        yield return captured;
        var authorized = Ch("ch_authorized", "pi_manual");
        authorized.CaptureBefore = Now + 7 * 86_400;
        yield return authorized;
        var partial = Ch("ch_partially_captured", "pi_manual");
        partial.Captured = true;
        partial.AmountCaptured = 1_500;
        partial.AmountRefunded = 500;
        partial.BalanceTransaction = "txn_fx";
        yield return partial;
        var refunded = Ch("ch_refunded", "pi_succeeded");
        refunded.Captured = true;
        refunded.AmountCaptured = 2_000;
        refunded.AmountRefunded = 2_000;
        refunded.BalanceTransaction = "txn_charge";
        yield return refunded;
        var declined = Ch("ch_declined", "pi_declined", "failed");
        declined.FailureCode = "card_declined";
        declined.FailureMessage = "Your card has insufficient funds.";
        declined.DeclineCode = "insufficient_funds";
        yield return declined;
        // Its PaymentIntent and balance transaction are not in the store (as bulk lines have no PaymentIntent).
        var orphan = Ch("ch_orphan", "pi_missing");
        orphan.Captured = true;
        orphan.AmountCaptured = 2_000;
        orphan.BalanceTransaction = "txn_missing";
        yield return orphan;
    }

    private static IEnumerable<RefundState> Refunds()
    {
        RefundState Re(string id, string status) => new()
        {
            Id = id, Created = Now - 300, Amount = 500, Currency = "usd", Charge = "ch_captured", PaymentIntent = "pi_succeeded", Status = status,
        };
        yield return Re("re_pending", RefundStatus.Pending);
        var succeeded = Re("re_succeeded", RefundStatus.Succeeded);
        succeeded.BalanceTransaction = "txn_refund";
        succeeded.Metadata = Metadata();
        yield return succeeded;
        var failed = new RefundState
        {
            Id = "re_failed", Created = Now - 200, Amount = 500, Currency = "usd", Charge = "ch_captured", PaymentIntent = "pi_succeeded",
            Status = RefundStatus.Failed, Reason = "requested_by_customer", BalanceTransaction = "txn_refund",
            FailureBalanceTransaction = "txn_refund_failure", FailureReason = "expired_or_canceled_card",
        };
        yield return failed;
        yield return Re("re_canceled", RefundStatus.Canceled);
    }

    private static IEnumerable<BalanceTransactionState> BalanceTransactions()
    {
        BalanceTransactionState Txn(string id, string type, long amount, long fee, string source, string currency = "usd", string? rate = null) => new()
        {
            Id = id, Created = Now - 100, Amount = amount, Fee = fee, Net = amount - fee, Currency = currency, ExchangeRate = rate,
            Source = source, Type = type, ReportingCategory = type, AvailableOn = Now + 86_400,
        };
        yield return Txn("txn_charge", "charge", 2_000, 88, "ch_captured");
        // A cross-currency charge: booked in USD at the FX table's rate, digit for digit.
        yield return Txn("txn_fx", "charge", 1_616, 77, "ch_partially_captured", rate: "1.077333");
        yield return Txn("txn_no_fee", "charge", 100, 0, "ch_refunded");
        yield return Txn("txn_refund", "refund", -500, 0, "re_succeeded");
        yield return Txn("txn_refund_failure", "refund_failure", 500, 0, "re_failed");
        var payout = new BalanceTransactionState
        {
            Id = "txn_payout", Created = Now - 50, Amount = -1_412, Fee = 0, Net = -1_412, Currency = "usd", Source = "po_1", Type = "payout",
            ReportingCategory = "payout", AvailableOn = Now - 50, Description = "STRIPE PAYOUT", Payout = "po_1",
        };
        yield return payout;
    }

    private static IEnumerable<PayoutState> Payouts()
    {
        yield return new PayoutState { Id = "po_1", Created = Now - 50, Amount = 1_412, Currency = "usd", ArrivalDate = Now + 86_400, BalanceTransaction = "txn_payout" };
    }
}
