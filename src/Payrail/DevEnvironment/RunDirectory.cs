using System.Text.Json;
using System.Text.Json.Serialization;

namespace Payrail.DevEnvironment;

/// <summary>What `status` shows of one role, as `up` last wrote it.</summary>
public sealed record RoleState(
    string Role,
    int Pid,
    DateTimeOffset? StartedAt,
    int Restarts,
    string State,
    string? HealthUrl,
    int? LastExitCode);

/// <summary>The state file of a running `up`: its own pid and one entry per role.</summary>
public sealed record UpState(int Pid, DateTimeOffset StartedAt, IReadOnlyList<RoleState> Roles);

/// <summary>Role states, as written to up.json and shown by `status`.</summary>
public static class RoleStates
{
    public const string Starting = "starting";
    public const string Running = "running";
    /// <summary>Exited unexpectedly; waiting for its restart.</summary>
    public const string Backoff = "backoff";
    /// <summary>A crash loop: no longer restarted.</summary>
    public const string CrashLoop = "crash-loop";
    /// <summary>Exited refusing its settings: no longer restarted.</summary>
    public const string BadSettings = "bad-settings";
    public const string Stopped = "stopped";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(UpState))]
internal sealed partial class RunStateJson : JsonSerializerContext;

/// <summary>
/// <c>.payrail/run/</c>: up.pid, up.json (read by `status`), one &lt;role&gt;.pid per child, and up.lock, which a
/// running `up` holds exclusively so that two started at the same moment cannot both pass the up.pid check.
/// <c>.payrail/logs/</c>: one &lt;role&gt;.log per child.
/// </summary>
public sealed class RunDirectory(string stateDirectory)
{
    public string RunPath { get; } = Path.Combine(stateDirectory, "run");
    public string LogsPath { get; } = Path.Combine(stateDirectory, "logs");
    public string UpPidFile => Path.Combine(RunPath, "up.pid");
    public string StateFile => Path.Combine(RunPath, "up.json");
    public string LockFile => Path.Combine(RunPath, "up.lock");

    public static RunDirectory ForProject() => new(PayrailConfiguration.StateDirectory);

    public string PidFile(string role) => Path.Combine(RunPath, role + ".pid");
    public string LogFile(string role) => Path.Combine(LogsPath, role + ".log");

    /// <summary>The pid of a live `up` of this project, or null (no pid file, a dead process, or a reused pid).</summary>
    public int? RunningUpPid()
    {
        var pid = OsCommand.ReadPidFile(UpPidFile);
        if (!IsRunning(pid)) return null;
        // A pid survives a reboot or a kill -9 in the file: make sure it still names a payrail process.
        return CommandLineOf(pid).Contains("payrail", StringComparison.Ordinal) ? pid : null;
    }

    /// <summary>Takes up.lock for the life of this `up`; null when another `up` holds it.</summary>
    public FileStream? TryLock()
    {
        Directory.CreateDirectory(RunPath);
        try
        {
            // FileShare.None is an exclusive advisory lock (flock) on Linux, released by the kernel even after kill -9.
            return new FileStream(LockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void WritePid(string file, int pid) => WriteAtomically(file, pid.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n");

    public void WriteState(UpState state) => WriteAtomically(StateFile, JsonSerializer.Serialize(state, RunStateJson.Default.UpState));

    public UpState? ReadState()
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(StateFile), RunStateJson.Default.UpState);
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }

    public static void Delete(string file)
    {
        try { File.Delete(file); }
        catch (IOException) { }
    }

    /// <summary>Readers (`status`) never see half a file: write beside it, then rename over it.</summary>
    private static void WriteAtomically(string file, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var temporary = file + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, file, overwrite: true);
    }

    /// <summary>True while the process exists and has not exited (a zombie waiting for its parent counts as gone).</summary>
    public static bool IsRunning(int pid)
    {
        if (!OsCommand.IsAlive(pid)) return false;
        try
        {
            // /proc/PID/stat: "pid (comm) S ...": the state letter follows the last ')'.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].TrimStart();
            return state.Length == 0 || state[0] is not ('Z' or 'X');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
        {
            return OsCommand.IsAlive(pid);
        }
    }

    private static string CommandLineOf(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }
}
