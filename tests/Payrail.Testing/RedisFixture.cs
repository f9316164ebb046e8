using System.Security.Cryptography;
using Payrail.DevEnvironment;
using Xunit;

namespace Payrail.Testing;

/// <summary>
/// A private redis-server (the same <see cref="LocalRedis"/> as `payrail up`) on a free port.
/// <see cref="StopAsync"/> / <see cref="StartAsync"/> keep port, folder and password, to test Redis outages.
/// </summary>
public sealed class RedisFixture : IAsyncLifetime
{
    private const int MaxPortAttempts = 3;
    private LocalRedis? _redis;

    /// <summary>StackExchange.Redis configuration string (127.0.0.1:port, password, abortConnect=false).</summary>
    public string Configuration => Server.Configuration;
    public int Port => Server.Port;

    private LocalRedis Server => _redis ?? throw new InvalidOperationException("RedisFixture is not initialized");

    public async Task InitializeAsync()
    {
        var directory = TestServerDirectory.NewServerDirectory("redis");
        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        for (var attempt = 1; ; attempt++)
        {
            _redis = new LocalRedis(new LocalRedisOptions { Directory = directory, Port = FreePort.Next(), Password = password });
            try
            {
                await _redis.StartAsync();
                return;
            }
            catch (Exception) when (attempt < MaxPortAttempts)
            {
                // The free port was taken between probing and binding: try another.
                await _redis.StopAsync();
            }
        }
    }

    /// <summary>Stops the server (graceful; it keeps nothing: a cache). Clients see connection failures until <see cref="StartAsync"/>.</summary>
    public Task StopAsync() => Server.StopAsync();

    /// <summary>Starts the server again on the same port with the same data.</summary>
    public Task StartAsync() => Server.StartAsync();

    public async Task DisposeAsync()
    {
        if (_redis is null) return;
        await _redis.StopAsync();
        try { Directory.Delete(_redis.Options.Directory, recursive: true); }
        catch (IOException) { /* reaped with the run folder at process exit */ }
    }
}
