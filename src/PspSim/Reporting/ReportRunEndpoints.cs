using System.Globalization;
using System.Text.Json;
using PspSim.Api;
using PspSim.Stripe;

namespace PspSim.Reporting;

/// <summary>
/// /v1/reporting/report_runs and /v1/reporting/report_types (docs.stripe.com/api/reporting/report_run): the itemized
/// balance report only (<see cref="ActivityReport"/>). A run is created pending and renders in the background; its
/// result is a file object whose <c>url</c> is served at /v1/files/{id}/contents (Stripe serves it from its files host).
/// </summary>
public static class ReportRunEndpoints
{
    private static readonly HashSet<string> CreateParams = ["report_type", "parameters", "expand"];
    private static readonly HashSet<string> ParameterNames = ["interval_start", "interval_end", "columns", "reporting_category", "currency"];
    private static readonly HashSet<string> RetrieveParams = ["expand"];

    public static ApiResult Create(ApiRequest r)
    {
        r.Params.AllowOnly(CreateParams);
        var reportType = r.Params.String("report_type", 100) ?? throw StripeApiException.Missing("report_type");
        if (reportType != ActivityReport.ReportType)
            throw StripeApiException.Invalid($"Invalid report_type: {reportType}. pspsim runs {ActivityReport.ReportType} only.", "report_type");
        var parameters = r.Params.Hash("parameters", ParameterNames);
        var start = Timestamp(parameters, "interval_start") ?? throw StripeApiException.Missing("parameters[interval_start]");
        var end = Timestamp(parameters, "interval_end") ?? throw StripeApiException.Missing("parameters[interval_end]");
        var dataEnd = DataAvailableEnd(r);
        if (start >= end) throw StripeApiException.Invalid("parameters[interval_start] must be before parameters[interval_end].", "parameters[interval_start]");
        if (end > dataEnd)
        {
            throw StripeApiException.Invalid(
                $"parameters[interval_end] ({end}) must be at most the report type's data_available_end ({dataEnd}).", "parameters[interval_end]");
        }
        var columns = Columns(parameters);
        var category = Text(parameters, "reporting_category");
        var currency = Text(parameters, "currency") is { } c ? Currencies.Parse(c) : null;
        var run = new ReportRunState
        {
            Id = Ids.New("frr"),
            Created = r.Store.Now(),
            Filter = new ActivityReport.Filter(start, end, category, currency),
            Columns = columns ?? ActivityReport.Columns,
            ColumnsGiven = columns is not null,
        };
        r.Store.ReportRuns.Start(run, r.Store);
        return ApiResult.Ok(w => r.Store.ReportRuns.Read(() => Write(w, run, r.BaseUrl)));
    }

    public static ApiResult Retrieve(ApiRequest r, string id)
    {
        r.Params.AllowOnly(RetrieveParams);
        var run = r.Store.ReportRuns.Find(id) ?? throw StripeApiException.NoSuch("reporting.report_run", id);
        return ApiResult.Ok(w => r.Store.ReportRuns.Read(() => Write(w, run, r.BaseUrl)));
    }

    public static ApiResult RetrieveType(ApiRequest r, string id)
    {
        r.Params.AllowOnly(RetrieveParams);
        if (id != ActivityReport.ReportType) throw StripeApiException.NoSuch("reporting.report_type", id);
        var dataEnd = DataAvailableEnd(r);
        return ApiResult.Ok(w =>
        {
            w.WriteStartObject();
            w.WriteString("id"u8, id);
            w.WriteString("object"u8, "reporting.report_type"u8);
            w.WriteNumber("data_available_end"u8, dataEnd);
            w.WriteNumber("data_available_start"u8, 0);
            w.WriteStartArray("default_columns"u8);
            foreach (var column in ActivityReport.Columns) w.WriteStringValue(column);
            w.WriteEndArray();
            w.WriteBoolean("livemode"u8, false);
            w.WriteString("name"u8, "Itemized balance change from activity"u8);
            w.WriteNumber("updated"u8, dataEnd);
            w.WriteNumber("version"u8, 3);
            w.WriteEndObject();
        });
    }

    private static long DataAvailableEnd(ApiRequest r) => r.Store.Now() - r.Options.ReportDataLagSeconds;

    private static void Write(Utf8JsonWriter w, ReportRunState run, string baseUrl)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, run.Id);
        w.WriteString("object"u8, "reporting.report_run"u8);
        w.WriteNumber("created"u8, run.Created);
        w.WriteString("error"u8, run.Error);
        w.WriteBoolean("livemode"u8, false);
        w.WriteStartObject("parameters"u8);
        if (run.ColumnsGiven)
        {
            w.WriteStartArray("columns"u8);
            foreach (var column in run.Columns) w.WriteStringValue(column);
            w.WriteEndArray();
        }
        if (run.Filter.Currency is { } currency) w.WriteString("currency"u8, currency);
        w.WriteNumber("interval_end"u8, run.Filter.IntervalEnd);
        w.WriteNumber("interval_start"u8, run.Filter.IntervalStart);
        if (run.Filter.ReportingCategory is { } category) w.WriteString("reporting_category"u8, category);
        w.WriteEndObject();
        w.WriteString("report_type"u8, ActivityReport.ReportType);
        w.WritePropertyName("result"u8);
        if (run.FileId is { } fileId) File(w, run, fileId, baseUrl);
        else w.WriteNullValue();
        w.WriteString("status"u8, run.Status);
        if (run.SucceededAt is { } at) w.WriteNumber("succeeded_at"u8, at);
        else w.WriteNull("succeeded_at"u8);
        w.WriteEndObject();
    }

    /// <summary>The file object of a run's result (docs.stripe.com/api/files/object), purpose finance_report_run.</summary>
    private static void File(Utf8JsonWriter w, ReportRunState run, string fileId, string baseUrl)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, fileId);
        w.WriteString("object"u8, "file"u8);
        w.WriteNumber("created"u8, run.SucceededAt ?? run.Created);
        w.WriteNull("expires_at"u8);
        w.WriteString("filename"u8, run.Id + ".csv");
        w.WriteString("purpose"u8, "finance_report_run"u8);
        w.WriteNumber("size"u8, run.FileSize);
        w.WriteString("title"u8, "FinanceReportRun " + run.Id);
        w.WriteString("type"u8, "csv"u8);
        w.WriteString("url"u8, $"{baseUrl}/v1/files/{fileId}/contents");
        w.WriteEndObject();
    }

    /// <summary>parameters[columns][], in their index order; null when not given (all columns).</summary>
    private static IReadOnlyList<string>? Columns(IReadOnlyDictionary<string, FormNode> parameters)
    {
        if (!parameters.TryGetValue("columns", out var node)) return null;
        IEnumerable<string?> given = node.IsScalar
            ? [node.Value]
            : node.Children!.OrderBy(c => int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : int.MaxValue)
                .Select(c => c.Value.IsScalar ? c.Value.Value : null);
        var columns = new List<string>();
        foreach (var column in given)
        {
            if (column is null || !ActivityReport.Columns.Contains(column))
                throw StripeApiException.Invalid($"Invalid parameters[columns]: {column} is not a column of {ActivityReport.ReportType}.", "parameters[columns]");
            if (columns.Contains(column)) throw StripeApiException.Invalid($"Invalid parameters[columns]: {column} is given twice.", "parameters[columns]");
            columns.Add(column);
        }
        return columns.Count > 0 ? columns : throw StripeApiException.Invalid("Invalid parameters[columns]: no column.", "parameters[columns]");
    }

    private static long? Timestamp(IReadOnlyDictionary<string, FormNode> parameters, string name)
    {
        if (!parameters.TryGetValue(name, out var node)) return null;
        if (!node.IsScalar || !long.TryParse(node.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            throw new StripeApiException(400, "invalid_request_error", "parameter_invalid_integer", $"Invalid integer: {node.Value}", $"parameters[{name}]");
        return value;
    }

    private static string? Text(IReadOnlyDictionary<string, FormNode> parameters, string name)
    {
        if (!parameters.TryGetValue(name, out var node)) return null;
        if (!node.IsScalar || node.Value!.Length is 0 or > 100) throw StripeApiException.Invalid($"Invalid string: parameters[{name}]", $"parameters[{name}]");
        return node.Value;
    }
}
