using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Consumers;

/// <summary>A migrated database and a devkafka broker for consumer tests; each test uses its own topic and state folder.</summary>
public sealed class ConsumersFixture : IAsyncLifetime
{
    private int _topics;

    public PostgresFixture Postgres { get; } = new();
    public DevKafkaFixture Kafka { get; } = new();
    public string StateDirectory { get; } = Path.Combine(Path.GetTempPath(), "payrail-consumers-" + Guid.NewGuid().ToString("N"));

    public string NewTopic() => $"payments.t{Interlocked.Increment(ref _topics)}";

    public Task<ConsumerWorker> StartWorkerAsync(string topic, CountingCrashPoints? crashPoints = null) =>
        ConsumerWorker.StartAsync(Postgres.ConnectionString, Kafka.BootstrapServers, topic, StateDirectory, crashPoints?.Points);

    public async Task InitializeAsync() => await Task.WhenAll(Postgres.InitializeAsync(), Kafka.InitializeAsync());

    public async Task DisposeAsync()
    {
        await Kafka.DisposeAsync();
        await Postgres.DisposeAsync();
        try { Directory.Delete(StateDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
