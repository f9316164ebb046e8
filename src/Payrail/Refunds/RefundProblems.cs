using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Payrail.Api;
using Payrail.Domain.Payments;
using Payrail.Domain.Refunds;
using Payrail.Idempotency;
using Payrail.Payments;

namespace Payrail.Refunds;

/// <summary>The 409s of a refund the payment cannot take, with the payment's status and what remains refundable.</summary>
public static class RefundProblems
{
    public static ProblemDetails For(PaymentRecord payment, string code)
    {
        if (code == PaymentRefunds.ExceedsPayableCode) return ExceedsPayable(payment);
        var notRefundable = code == PaymentRefunds.NotRefundableCode;
        var problem = new ProblemDetails
        {
            Type = notRefundable ? Problems.PaymentNotRefundable : Problems.RefundExceedsRefundable,
            Title = notRefundable ? "Payment not refundable" : "Refund exceeds refundable amount",
            Status = StatusCodes.Status409Conflict,
            Detail = notRefundable
                ? "Only a captured or settled payment with an amount left to refund can be refunded."
                : "The amount is above what remains refundable (captured, less refunded, less pending refunds).",
        };
        problem.Extensions["payment_status"] = payment.Status.ToWire();
        problem.Extensions["amount_refundable"] = Math.Max(0, payment.RefundBalance.RefundableMinor);
        return problem;
    }

    private static ProblemDetails ExceedsPayable(PaymentRecord payment)
    {
        var problem = new ProblemDetails
        {
            Type = Problems.RefundExceedsPayableBalance,
            Title = "Refund exceeds payable balance",
            Status = StatusCodes.Status409Conflict,
            Detail = "The merchant's payable balance in this currency (captures, less refunds and fees, less pending refunds) "
                + "cannot cover the refund, and it may not go negative.",
        };
        problem.Extensions["payment_status"] = payment.Status.ToWire();
        return problem;
    }

    public static IResult Result(PaymentRecord payment, string code) => Results.Problem(For(payment, code));

    /// <summary>The same problem as a stored answer of the request's idempotency key.</summary>
    public static IdempotentAnswer Refusal(PaymentRecord payment, string code)
    {
        var problem = For(payment, code);
        var body = new Dictionary<string, object?>
        {
            ["type"] = problem.Type, ["title"] = problem.Title, ["status"] = problem.Status, ["detail"] = problem.Detail,
        };
        foreach (var (name, value) in problem.Extensions) body[name] = value;
        return new IdempotentAnswer(StatusCodes.Status409Conflict, JsonSerializer.Serialize(body), Final: true);
    }

    /// <summary>The refusal a request gets before anything is written, or null when the payment can take it as it stands.</summary>
    public static string? Precheck(PaymentRecord payment, long? amountMinor)
    {
        if (payment.Status is not (PaymentStatus.Captured or PaymentStatus.Settled)) return PaymentRefunds.NotRefundableCode;
        var refundable = payment.RefundBalance.RefundableMinor;
        return (amountMinor ?? refundable) is var amount && (amount <= 0 || amount > refundable) ? PaymentRefunds.ExceedsRefundableCode : null;
    }
}
