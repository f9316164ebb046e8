using Payrail.DevEnvironment;

namespace Payrail.Testing;

/// <summary>
/// Where test servers live: `$TMPDIR/payrail-test-servers/run-PID-xxxx/`, one folder per test process,
/// with `owner.pid`. The first fixture of a process reaps folders whose owner died (a killed test
/// run): it stops the servers named by their pid files and deletes the folder, so orphaned servers
/// cannot accumulate. /tmp is traversable by the `postgres` OS user, unlike /root.
/// </summary>
public static class TestServerDirectory
{
    private static readonly Lazy<string> RunDirectory = new(CreateRunDirectory, LazyThreadSafetyMode.ExecutionAndPublication);
    private const int MaxReapedFolders = 100;

    public static string Root { get; } = Path.Combine(Path.GetTempPath(), "payrail-test-servers");

    /// <summary>This test process's folder (created and orphans reaped on first use).</summary>
    public static string ForThisRun => RunDirectory.Value;

    /// <summary>A new, empty folder for one server inside this run's folder.</summary>
    public static string NewServerDirectory(string kind)
    {
        var path = Path.Combine(ForThisRun, $"{kind}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(path);
        return path;
    }

    private static string CreateRunDirectory()
    {
        Directory.CreateDirectory(Root);
        ReapOrphans();
        var path = Path.Combine(Root, $"run-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "owner.pid"), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            // Best effort within the runtime's short exit window; whatever survives is reaped by the next run.
            try { StopServersIn(path); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        };
        return path;
    }

    private static void ReapOrphans()
    {
        foreach (var dir in Directory.EnumerateDirectories(Root, "run-*").Take(MaxReapedFolders))
        {
            var owner = OsCommand.ReadPidFile(Path.Combine(dir, "owner.pid"));
            if (owner != 0 && OsCommand.IsAlive(owner)) continue;
            try { StopServersIn(dir); }
            catch (IOException) { /* another test process is reaping the same folder */ }
            catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Stops every server whose pid file lies in <paramref name="dir"/> (only if the pid still names that server), then deletes the folder.</summary>
    internal static void StopServersIn(string dir)
    {
        if (!Directory.Exists(dir)) return;
        var stopped = new List<int>();
        foreach (var pidFile in Directory.EnumerateFiles(dir, "postmaster.pid", SearchOption.AllDirectories))
        {
            var pid = OsCommand.ReadPidFile(pidFile);
            if (OsCommand.ProcessName(pid) is "postgres") { OsCommand.Quit(pid); stopped.Add(pid); }
        }
        foreach (var pidFile in Directory.EnumerateFiles(dir, "redis.pid", SearchOption.AllDirectories))
        {
            var pid = OsCommand.ReadPidFile(pidFile);
            if (OsCommand.ProcessName(pid) is "redis-server") { OsCommand.ForceKill(pid); stopped.Add(pid); }
        }
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (stopped.Any(OsCommand.IsAlive) && DateTime.UtcNow < until) Thread.Sleep(20);
        Directory.Delete(dir, recursive: true);
    }
}
