using System.Text.Json;
using System.Text.RegularExpressions;
using Payrail.Api;
using Payrail.Tests.Payments;
using Xunit;

namespace Payrail.Tests.Api;

/// <summary>
/// The API describes itself: an OpenAPI document generated from the endpoints, with bearer auth, the required
/// Idempotency-Key on every mutating operation and the problem answers, and a reference page that loads nothing from
/// outside this host.
/// </summary>
public sealed class ApiDocumentTests(PaymentsApiFixture api) : IClassFixture<PaymentsApiFixture>
{
    [Fact]
    public async Task The_openapi_document_lists_the_payment_operations()
    {
        using var document = await DocumentAsync();

        var paths = document.RootElement.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/v1/payments", out var payments));
        Assert.True(payments.TryGetProperty("post", out _));
        Assert.True(paths.TryGetProperty("/v1/payments/{id}", out _));
    }

    [Fact]
    public async Task Creating_a_payment_declares_the_idempotency_key_header_as_required()
    {
        using var document = await DocumentAsync();

        var header = CreatePayment(document).GetProperty("parameters").EnumerateArray()
            .Single(p => p.GetProperty("name").GetString() == "Idempotency-Key");
        Assert.Equal("header", header.GetProperty("in").GetString());
        Assert.True(header.GetProperty("required").GetBoolean());
    }

    [Fact]
    public async Task Every_mutating_operation_requires_an_idempotency_key()
    {
        using var document = await DocumentAsync();

        var mutating = document.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Where(o => o.Name is "post" or "put" or "patch" or "delete")).ToList();
        Assert.NotEmpty(mutating);
        Assert.All(mutating, operation => Assert.Contains(operation.Value.GetProperty("parameters").EnumerateArray(),
            p => p.GetProperty("name").GetString() == "Idempotency-Key" && p.GetProperty("required").GetBoolean()));
    }

    [Fact]
    public async Task Creating_a_payment_declares_the_bearer_scheme()
    {
        using var document = await DocumentAsync();

        var scheme = document.RootElement.GetProperty("components").GetProperty("securitySchemes").GetProperty(ApiDocument.BearerScheme);
        Assert.Equal("http", scheme.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString());
        var requirement = CreatePayment(document).GetProperty("security").EnumerateArray().Single();
        Assert.True(requirement.TryGetProperty(ApiDocument.BearerScheme, out _));
    }

    [Fact]
    public async Task Creating_a_payment_declares_its_problem_answers_with_every_problem_type()
    {
        using var document = await DocumentAsync();

        var responses = CreatePayment(document).GetProperty("responses");
        foreach (var status in new[] { "400", "401", "403", "409", "413", "415", "422", "500" })
            Assert.True(responses.GetProperty(status).GetProperty("content").TryGetProperty("application/problem+json", out _), status);
        var types = document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("Problem")
            .GetProperty("properties").GetProperty("type").GetProperty("enum").EnumerateArray().Select(t => t.GetString()).ToList();
        Assert.Contains(Problems.IdempotencyKeyReused, types);
        Assert.Contains(Problems.CardNumberRefused, types);
    }

    [Fact]
    public async Task The_reference_page_loads_nothing_from_outside_this_host()
    {
        using var response = await api.Http.GetAsync(ApiDocument.ReferencePath);
        var page = await response.Content.ReadAsStringAsync();

        Assert.Equal(200, (int)response.StatusCode);
        var host = new Uri(api.BaseUrl).Authority;
        var external = Regex.Matches(page, @"(?:https?:)?//[A-Za-z0-9.\-]+(?::\d+)?").Select(m => m.Value)
            .Where(url => !url.EndsWith("//" + host, StringComparison.Ordinal)).ToList();
        Assert.Empty(external);
        // The bundled script would fetch web fonts from the vendor's font host and send telemetry unless told not to.
        Assert.Contains("\"withDefaultFonts\":false", page);
        Assert.Contains("\"telemetry\":false", page);
        var scripts = Regex.Matches(page, "<script[^>]+src=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(scripts);
        foreach (var script in scripts)
        {
            using var asset = await api.Http.GetAsync(new Uri(new Uri(api.BaseUrl + ApiDocument.ReferencePath + "/"), script));
            Assert.Equal(200, (int)asset.StatusCode);
        }
    }

    private async Task<JsonDocument> DocumentAsync()
    {
        using var response = await api.Http.GetAsync(ApiDocument.DocumentPath);
        Assert.Equal(200, (int)response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }

    private static JsonElement CreatePayment(JsonDocument document) =>
        document.RootElement.GetProperty("paths").GetProperty("/v1/payments").GetProperty("post");
}
