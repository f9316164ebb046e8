using System.Diagnostics;

namespace Payrail.DevEnvironment;

/// <summary>`payrail up`: starts every local component as a child process and serves until Ctrl-C.</summary>
public static class LocalPlatform
{
    public static async Task<int> RunAsync(IConfiguration configuration, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(PayrailConfiguration.StateDirectory);
        var children = new List<ChildProcess>();
        var secrets = DevSecrets.ForProject();
        LocalPostgres? postgres = null;
        LocalRedis? redis = null;
        try
        {
            // PostgreSQL and Redis: the configured ones, or project-local servers started here.
            if (!LocalServers.IsPostgresConfigured(configuration))
            {
                postgres = LocalServers.Postgres(configuration, secrets);
                configuration["Postgres:ConnectionString"] = await LocalServers.StartPostgresAsync(postgres, secrets, Console.Out, cancellationToken).ConfigureAwait(false);
                Console.WriteLine($"postgres   127.0.0.1:{postgres.Port} (.payrail/pg)");
            }
            else
            {
                await LocalServers.MigrateAndSeedAsync(configuration["Postgres:ConnectionString"]!, Console.Out, cancellationToken).ConfigureAwait(false);
            }
            if (!LocalServers.IsRedisConfigured(configuration))
            {
                redis = LocalServers.Redis(configuration, secrets);
                await redis.StartAsync(cancellationToken).ConfigureAwait(false);
                configuration["Redis:Configuration"] = redis.Configuration;
                Console.WriteLine($"redis      127.0.0.1:{redis.Port} (.payrail/redis)");
            }

            var pspSimUrl = configuration["PspSim:Url"] ?? "http://127.0.0.1:8090";
            children.Add(ChildProcess.StartDotnet("pspsim", SiblingBinary("PspSim", "pspsim.dll"),
                ["--urls", pspSimUrl, "--data-dir", Path.Combine(PayrailConfiguration.StateDirectory, "pspsim")]));
            Console.WriteLine($"pspsim     {pspSimUrl}");
            var kafkaBootstrap = configuration["Kafka:BootstrapServers"] ?? "127.0.0.1:9092";
            children.Add(ChildProcess.StartDotnet("devkafka", SiblingBinary("DevKafka", "devkafka.dll"),
                ["--port", kafkaBootstrap[(kafkaBootstrap.LastIndexOf(':') + 1)..], "--data-dir", Path.Combine(PayrailConfiguration.StateDirectory, "kafka")]));
            Console.WriteLine($"devkafka   {kafkaBootstrap}");
            // The payment service runs in this process: it shares the configuration resolved above. It starts once
            // pspsim answers, so the first payments do not meet a refused connection. Without Auth:SigningKey it
            // checks tokens against the generated development key, which `payrail token` signs with: the one place
            // where that key is allowed without an explicit Auth:AllowDevKey.
            configuration["Auth:AllowDevKey"] = "true";
            await Payrail.Api.ApiCommand.WaitUntilListeningAsync(new Uri(pspSimUrl), TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            await using var api = Payrail.Api.ApiHost.Build(configuration);
            await api.StartAsync(cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"api        {string.Join(", ", api.Urls)}");
            Console.WriteLine("Payrail is up. Ctrl-C stops everything.");

            var exited = Task.WhenAny(children.Select(c => c.Exited));
            await Task.WhenAny(exited, Task.Delay(Timeout.Infinite, cancellationToken)).ConfigureAwait(false);
            if (!cancellationToken.IsCancellationRequested)
            {
                var dead = children.First(c => c.Exited.IsCompleted);
                Console.Error.WriteLine($"{dead.Name} exited with code {dead.Exited.Result}; stopping.");
                return 1;
            }
            return 0;
        }
        finally
        {
            foreach (var child in children) child.Dispose();
            // Stopped on the way out even after Ctrl-C: a clean shutdown, not a crash recovery next time.
            if (redis is not null) await redis.StopAsync(CancellationToken.None).ConfigureAwait(false);
            if (postgres is not null) await postgres.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Path of another project's build output, beside this one under artifacts/bin.</summary>
    public static string SiblingBinary(string project, string file)
    {
        var configurationDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        return Path.Combine(configurationDir.Parent!.Parent!.FullName, project, configurationDir.Name, file);
    }
}

/// <summary>A child process whose output is prefixed with its name and which is killed with its parent.</summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;

    private ChildProcess(string name, Process process)
    {
        Name = name;
        _process = process;
        Exited = _process.WaitForExitAsync().ContinueWith(_ => _process.ExitCode, TaskScheduler.Default);
    }

    public string Name { get; }
    public Task<int> Exited { get; }

    public static ChildProcess StartDotnet(string name, string dllPath, IReadOnlyList<string> args) =>
        Start(name, "dotnet", [dllPath, .. args]);

    public static ChildProcess Start(string name, string fileName, IReadOnlyList<string> args)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {name}");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Console.WriteLine($"{name,-10} | {e.Data}"); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"{name,-10} | {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ChildProcess(name, process);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        _process.Dispose();
    }
}
