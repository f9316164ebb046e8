using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Payrail.DevEnvironment;

/// <summary>Runs short-lived operating-system commands (pg_ctl, initdb, chown) with a deadline.</summary>
public static class OsCommand
{
    public sealed record Result(int ExitCode, string Output);

    public static async Task<Result> RunAsync(string fileName, IReadOnlyList<string> args, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(fileName)} did not finish within {timeout.TotalSeconds:0} s");
        }
        return new Result(process.ExitCode, (await stdout.ConfigureAwait(false)) + (await stderr.ConfigureAwait(false)));
    }

    /// <summary>Runs the command and throws with its output when it exits non-zero.</summary>
    public static async Task<string> RunCheckedAsync(string fileName, IReadOnlyList<string> args, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var result = await RunAsync(fileName, args, timeout, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"{Path.GetFileName(fileName)} {string.Join(' ', args)} exited with {result.ExitCode}: {result.Output.Trim()}");
        return result.Output;
    }

    public static bool IsRoot => Environment.IsPrivilegedProcess;

    /// <summary>True while a process with this id exists.</summary>
    public static bool IsAlive(int pid) => pid > 0 && (Kill(pid, 0) == 0 || Marshal.GetLastPInvokeError() == EPERM);

    /// <summary>Sends SIGTERM (graceful shutdown) to one process we started, by its id.</summary>
    public static void Terminate(int pid) { if (pid > 0) Kill(pid, SIGTERM); }

    /// <summary>Sends SIGQUIT: PostgreSQL's immediate shutdown (used for throw-away clusters).</summary>
    public static void Quit(int pid) { if (pid > 0) Kill(pid, SIGQUIT); }

    /// <summary>The executable name of a live process (/proc/PID/comm), to make sure a pid file still names the server it was written by.</summary>
    public static string? ProcessName(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/comm").Trim(); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>Sends SIGKILL to one process we started, by its id.</summary>
    public static void ForceKill(int pid) { if (pid > 0) Kill(pid, SIGKILL); }

    /// <summary>Reads the first line of a pid file (PostgreSQL's postmaster.pid, Redis's pidfile); 0 when absent or unreadable.</summary>
    public static int ReadPidFile(string path)
    {
        try
        {
            var first = File.ReadLines(path).FirstOrDefault();
            return int.TryParse(first?.Trim(), out var pid) ? pid : 0;
        }
        catch (IOException) { return 0; }
        catch (UnauthorizedAccessException) { return 0; }
    }

    private const int SIGTERM = 15;
    private const int SIGKILL = 9;
    private const int SIGQUIT = 3;
    private const int EPERM = 1;

#pragma warning disable SYSLIB1054 // a single blittable call; DllImport keeps the project free of unsafe code
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
#pragma warning restore SYSLIB1054
}
