using Payrail.Outbox;
using Payrail.Payments;

namespace Payrail.Consumers.Notifications;

/// <summary>A message about to be stored and sent; an ops message about a PSP line no payment stands for has no payment.</summary>
public sealed record NotificationMessage(Guid Id, Guid EventId, Guid? PaymentId, string Audience, string Recipient, string Template,
    string Subject, string Body);

/// <summary>
/// The message templates, one per (event, audience), with placeholders filled from the event. Pure: the same event
/// renders the same messages on every delivery, with the same ids.
/// </summary>
public static class NotificationTemplates
{
    public const string Buyer = "buyer";
    public const string Merchant = "merchant";

    /// <summary>The on-call engineer (issue 13: a reconciliation break pages them); one mailbox, not a person.</summary>
    public const string Ops = "ops";

    private static readonly string[] Audiences = [Buyer, Merchant, Ops];

    private sealed record Template(string Name, string Subject, string Body);

    private static readonly IReadOnlyDictionary<(string Type, string Audience), Template> Templates =
        new Dictionary<(string, string), Template>
        {
            [(EventTypes.PaymentCompleted, Buyer)] = new("payment_completed_buyer",
                "Your payment of {amount} {currency} is complete",
                "Hello {buyer},\n\nyour payment {payment_id} of {amount} {currency} to {merchant} is complete.\n"),
            [(EventTypes.PaymentCompleted, Merchant)] = new("payment_completed_merchant",
                "Payment received: {amount} {currency}",
                "Payment {payment_id} from buyer {buyer} for {amount} {currency} is complete.\n"),
            [(EventTypes.PaymentFailed, Buyer)] = new("payment_failed_buyer",
                "Your payment of {amount} {currency} did not go through",
                "Hello {buyer},\n\nyour payment {payment_id} of {amount} {currency} to {merchant} failed ({failure}). You were not charged.\n"),
            [(EventTypes.PaymentFailed, Merchant)] = new("payment_failed_merchant",
                "Payment failed: {amount} {currency}",
                "Payment {payment_id} from buyer {buyer} for {amount} {currency} failed ({failure}).\n"),
            [(EventTypes.PaymentRefunded, Buyer)] = new("payment_refunded_buyer",
                "Refund of {refunded} {currency}",
                "Hello {buyer},\n\n{refunded} {currency} of your payment {payment_id} to {merchant} were refunded.\n"),
            [(EventTypes.PaymentRefunded, Merchant)] = new("payment_refunded_merchant",
                "Refund issued: {refunded} {currency}",
                "Payment {payment_id} from buyer {buyer} was refunded: {refunded} {currency}.\n"),
            // The refund told above came back (the card was closed, the bank returned it): each party hears it undone.
            [(EventTypes.PaymentRefundReversed, Buyer)] = new("payment_refund_reversed_buyer",
                "Refund of {refunded} {currency} returned",
                "Hello {buyer},\n\nThe refund of {refunded} {currency} for your payment {payment_id} to {merchant} could not reach your card and was returned to {merchant}.\n"),
            [(EventTypes.PaymentRefundReversed, Merchant)] = new("payment_refund_reversed_merchant",
                "Refund returned: {refunded} {currency}",
                "The refund of {refunded} {currency} of payment {payment_id} from buyer {buyer} was returned by the bank; the amount is yours again.\n"),
            // One per reconciliation break (issue 13), with or without a Payrail payment: what broke, where, and why.
            [(EventTypes.ReconciliationAlert, Ops)] = new("reconciliation_alert_ops",
                "Reconciliation break: {bucket} {match_key}",
                "Reconciliation run {run_id} of [{window_from}, {window_to}) found a break.\n\nBucket: {bucket}\nLine: {match_key}\n"
                + "PSP line: {psp_line}\nPayment: {payment}\nReason: {reason}\n"),
        };

    public static bool Covers(string type) => Audiences.Any(audience => Templates.ContainsKey((type, audience)));

    public static IReadOnlyList<NotificationMessage> Render(OutboxEvent e)
    {
        var messages = new List<NotificationMessage>(2);
        foreach (var audience in Audiences)
        {
            if (!Templates.TryGetValue((e.Type, audience), out var template)) continue;
            if (audience == Ops)
            {
                messages.Add(new NotificationMessage(MinorUnits.DerivedId(e.Id, audience), e.Id, e.HasPayment ? e.PaymentId : null, audience,
                    Ops, template.Name, FillAlert(template.Subject, e), FillAlert(template.Body, e)));
                continue;
            }
            var recipient = audience == Buyer ? "buyer:" + e.Payment.BuyerId : "merchant:" + e.Payment.MerchantId;
            messages.Add(new NotificationMessage(MinorUnits.DerivedId(e.Id, audience), e.Id, e.PaymentId, audience, recipient,
                template.Name, Fill(template.Subject, e), Fill(template.Body, e)));
        }
        return messages;
    }

    /// <summary>An alert's placeholders: its break, and its payment when it has one (schema 2 has none).</summary>
    private static string FillAlert(string text, OutboxEvent e)
    {
        var r = e.Reconciliation ?? throw new InvalidOperationException($"reconciliation.alert {e.Id} carries no reconciliation");
        var payment = e.HasPayment
            ? $"{e.Payment.Id} ({e.Payment.Status}, {MinorUnits.Format(e.Payment.AmountMinor, e.Payment.Currency)} {e.Payment.Currency}, merchant {e.Payment.MerchantId})"
            : "none at Payrail";
        return text
            .Replace("{run_id}", r.RunId.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{window_from}", PaymentRecord.Timestamp(r.WindowFrom), StringComparison.Ordinal)
            .Replace("{window_to}", PaymentRecord.Timestamp(r.WindowTo), StringComparison.Ordinal)
            .Replace("{bucket}", r.Bucket, StringComparison.Ordinal)
            .Replace("{match_key}", r.MatchKey, StringComparison.Ordinal)
            .Replace("{psp_line}", r.PspLine ?? "none", StringComparison.Ordinal)
            .Replace("{payment}", payment, StringComparison.Ordinal)
            .Replace("{reason}", r.Reason, StringComparison.Ordinal);
    }

    private static string Fill(string text, OutboxEvent e)
    {
        var p = e.Payment;
        return text
            .Replace("{amount}", MinorUnits.Format(p.AmountMinor, p.Currency), StringComparison.Ordinal)
            // This refund's own amount (a partial refund is told as itself); events before refunds carried one: the total.
            .Replace("{refunded}", MinorUnits.Format(e.Refund?.AmountMinor ?? p.AmountRefundedMinor, p.Currency), StringComparison.Ordinal)
            .Replace("{currency}", p.Currency, StringComparison.Ordinal)
            .Replace("{payment_id}", p.Id.ToString(), StringComparison.Ordinal)
            .Replace("{merchant}", p.MerchantId, StringComparison.Ordinal)
            .Replace("{buyer}", p.BuyerId, StringComparison.Ordinal)
            .Replace("{failure}", p.FailureCode ?? "declined", StringComparison.Ordinal);
    }
}
