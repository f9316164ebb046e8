using System.Diagnostics;

namespace Payrail.DevEnvironment;

/// <summary>`payrail up`: starts every local component as a child process and serves until Ctrl-C.</summary>
public static class LocalPlatform
{
    public static async Task<int> RunAsync(IConfiguration configuration, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(PayrailConfiguration.StateDirectory);
        var children = new List<ChildProcess>();
        try
        {
            var pspSimUrl = configuration["PspSim:Url"] ?? "http://127.0.0.1:8090";
            children.Add(ChildProcess.StartDotnet("pspsim", SiblingBinary("PspSim", "pspsim.dll"),
                ["--urls", pspSimUrl, "--data-dir", Path.Combine(PayrailConfiguration.StateDirectory, "pspsim")]));
            Console.WriteLine($"pspsim     {pspSimUrl}");
            var kafkaBootstrap = configuration["Kafka:BootstrapServers"] ?? "127.0.0.1:9092";
            children.Add(ChildProcess.StartDotnet("devkafka", SiblingBinary("DevKafka", "devkafka.dll"),
                ["--port", kafkaBootstrap[(kafkaBootstrap.LastIndexOf(':') + 1)..], "--data-dir", Path.Combine(PayrailConfiguration.StateDirectory, "kafka")]));
            Console.WriteLine($"devkafka   {kafkaBootstrap}");
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
