using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Payrail.Dashboard;
using Xunit;

namespace Payrail.Tests.Dashboard;

/// <summary>The dashboard's pure decisions, without a server: filters, page cursors, allowed actions, CSV fields, the chart.</summary>
public sealed class DashboardRulesTests
{
    private static PaymentsFilter Parse(out Dictionary<string, string> errors, params (string Key, string Value)[] query) =>
        PaymentsFilter.Parse(new QueryCollection(query.ToDictionary(q => q.Key, q => new StringValues(q.Value))), out errors);

    [Theory]
    [InlineData("USD", "19.99", 1999)]
    [InlineData("USD", "20", 2000)]
    [InlineData("JPY", "1000", 1000)]
    [InlineData("KWD", "1.234", 1234)]
    public void An_amount_filter_is_read_with_the_currencys_own_exponent(string currency, string typed, long minor)
    {
        var filter = Parse(out var errors, ("currency", currency), ("min", typed), ("max", typed));

        Assert.Empty(errors);
        Assert.Equal((minor, minor), (filter.MinAmountMinor, filter.MaxAmountMinor));
        Assert.True(filter.Narrows);
    }

    [Theory]
    [InlineData("min", "5", "currency", null, "choose a currency")]
    [InlineData("min", "19.999", "currency", "USD", "at most 2 decimals")]
    [InlineData("min", "1.5", "currency", "JPY", "at most 0 decimals")]
    [InlineData("status", "paid", null, null, "not a payment status")]
    [InlineData("currency", "ZZZ", null, null, "not an ISO 4217 currency")]
    [InlineData("from", "30/11/2026", null, null, "YYYY-MM-DD")]
    [InlineData("after", "yesterday", null, null, "not a page cursor")]
    public void A_filter_that_cannot_be_read_is_named_with_why(string key, string value, string? otherKey, string? otherValue, string why)
    {
        (string, string)[] query = otherKey is null ? [(key, value)] : [(key, value), (otherKey, otherValue!)];

        Parse(out var errors, query);

        Assert.Contains(why, errors[key]);
    }

    [Fact]
    public void A_date_range_must_run_forwards()
    {
        Parse(out var errors, ("from", "2026-11-30"), ("to", "2026-11-29"));

        Assert.Contains("on or after from", errors["to"]);
    }

    [Fact]
    public void No_filter_narrows_nothing_and_a_page_cursor_round_trips()
    {
        var cursor = new PaymentsCursor(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero).AddTicks(1230), Guid.NewGuid());

        var filter = Parse(out var errors, ("after", cursor.ToString()));

        Assert.Empty(errors);
        Assert.False(filter.Narrows);
        Assert.Equal(cursor, filter.After);
        Assert.False(Parse(out _).Narrows);
    }

    [Fact]
    public void The_filter_query_string_keeps_each_value_escaped()
    {
        var filter = Parse(out _, ("q", "b&x=1"), ("currency", "usd"), ("min", "1.5"));

        Assert.Equal("currency=USD&min=1.50&q=b%26x%3D1", filter.ToQuery(minor => Html.Amount(minor, "USD")[..^4]));
    }

    [Theory]
    [InlineData("authorized", 0, 0, "capture,void")]
    [InlineData("captured", 1000, 0, "refunds")]
    [InlineData("captured", 1000, 400, "refunds")]
    [InlineData("settled", 1000, 0, "refunds")]
    [InlineData("refunded", 1000, 1000, "")]
    [InlineData("captured", 1000, 1000, "")]
    [InlineData("initiated", 0, 0, "")]
    [InlineData("processing", 0, 0, "")]
    [InlineData("failed", 0, 0, "")]
    [InlineData("voided", 0, 0, "")]
    public void Only_the_actions_a_status_allows_are_offered(string status, long captured, long refunded, string actions)
    {
        Assert.Equal(actions, string.Join(',', PaymentAction.AllowedFor(status, captured, refunded).Select(a => a.Name)));
    }

    [Theory]
    [InlineData("b_1", "b_1")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\"")]
    [InlineData("+1", "'+1")]
    [InlineData("@sum", "'@sum")]
    [InlineData(null, "")]
    public void A_CSV_field_is_quoted_when_needed_and_never_runs_as_a_formula(string? value, string field)
    {
        Assert.Equal(field, CsvExport.Field(value));
    }

    [Fact]
    public void The_chart_draws_the_largest_bar_across_the_track_and_the_others_in_integer_proportion()
    {
        var svg = DayChart.Svg([("captured", 40), ("failed", 10), ("<voided>", 0)]);

        Assert.Contains("width=\"420\"", svg);
        Assert.Contains("width=\"105\"", svg);
        Assert.Contains("width=\"0\"", svg);
        Assert.Contains("&lt;voided&gt;", svg);
        Assert.DoesNotContain("<voided>", svg);
    }

    [Fact]
    public void The_APIs_problem_is_read_for_the_form_title_detail_and_field_errors()
    {
        var refused = PaymentActionsClient.Problem(409, """
            {"type":"https://payrail.dev/problems/x","title":"Refund exceeds the refundable amount","status":409,
             "detail":"At most 30.00 USD remains.","errors":{"amount":["too large"]}}
            """);

        Assert.Equal((409, "Refund exceeds the refundable amount", "At most 30.00 USD remains."), (refused.Status, refused.Title, refused.Detail));
        Assert.Equal(["amount: too large"], refused.Errors);
        Assert.Equal("HTTP 502", PaymentActionsClient.Problem(502, "<html>bad gateway</html>").Title);
    }
}
