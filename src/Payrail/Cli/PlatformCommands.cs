using ConsoleAppFramework;
using Payrail.DevEnvironment;

namespace Payrail.Cli;

/// <summary>The `payrail` commands. Each one delegates to its feature folder.</summary>
internal sealed class PlatformCommands
{
    /// <summary>Start the whole platform locally and serve until Ctrl-C.</summary>
    [Command("up")]
    public async Task<int> Up(CancellationToken cancellationToken) =>
        await LocalPlatform.RunAsync(PayrailConfiguration.Load(), cancellationToken);
}
