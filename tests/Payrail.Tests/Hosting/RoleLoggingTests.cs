using Microsoft.Extensions.Configuration;
using Payrail.Hosting;
using Xunit;

namespace Payrail.Tests.Hosting;

/// <summary>Logging:Format picks readable lines for a person (text) or JSON lines for a collector; auto decides by the TTY.</summary>
public sealed class RoleLoggingTests
{
    [Theory]
    [InlineData("json", true)]
    [InlineData("text", false)]
    public void The_configured_format_wins(string format, bool json) =>
        Assert.Equal(json, RoleLogging.WritesJson(With(format)));

    [Fact]
    public void Auto_writes_json_exactly_when_stdout_is_not_a_terminal() =>
        Assert.Equal(Console.IsOutputRedirected, RoleLogging.WritesJson(With("auto")));

    private static IConfiguration With(string format) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:Format"] = format }).Build();
}
