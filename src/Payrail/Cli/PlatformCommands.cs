using ConsoleAppFramework;
using Payrail.Bench;
using Payrail.DevEnvironment;

namespace Payrail.Cli;

/// <summary>The `payrail` commands. Each one delegates to its feature folder.</summary>
internal sealed class PlatformCommands
{
    /// <summary>Start the whole platform locally and serve until Ctrl-C.</summary>
    [Command("up")]
    public async Task<int> Up(CancellationToken cancellationToken) =>
        await LocalPlatform.RunAsync(PayrailConfiguration.Load(), cancellationToken);

    /// <summary>Benchmark the Kafka path: N messages with acks=all + idempotence, produced and consumed end to end.</summary>
    /// <param name="bootstrap">An existing broker (host:port); without it an in-process devkafka is started on a free port.</param>
    /// <param name="messages">Number of messages to produce.</param>
    /// <param name="size">Message size in bytes.</param>
    [Command("bench kafka")]
    public async Task<int> BenchKafka(string? bootstrap = null, int messages = 200_000, int size = 1024, CancellationToken cancellationToken = default) =>
        await KafkaBench.RunAsync(bootstrap, messages, size, cancellationToken);
}
