using System.Diagnostics;

namespace Payrail.DevEnvironment;

/// <summary>
/// One child process of `up`, restarted by <see cref="RestartPolicy"/> when it dies until `up` stops or the role
/// crash-loops. Its pid is in <c>.payrail/run/&lt;role&gt;.pid</c> while it runs.
/// </summary>
public sealed class SupervisedRole(RoleSpec spec, SupervisorOptions options, RunDirectory run, TextWriter terminal,
    TimeProvider time, Action stateChanged) : IDisposable
{
    private readonly object _gate = new();
    private readonly RoleLog _log = new(spec.Role, run.LogFile(spec.Role), options.MaxLogBytes, terminal);
    private readonly List<DateTimeOffset> _exits = [];
    private Process? _process;
    private DateTimeOffset? _startedAt;
    private int _restarts;
    private string _state = RoleStates.Starting;
    private int? _lastExitCode;

    public string Role => spec.Role;

    public RoleState Snapshot()
    {
        lock (_gate)
            return new RoleState(spec.Role, _state == RoleStates.Running ? _process?.Id ?? 0 : 0, _startedAt, _restarts, _state,
                spec.HealthUrl, _lastExitCode);
    }

    /// <summary>Runs the child until <paramref name="stopping"/> is cancelled (then it is left for <see cref="StopAsync"/>) or it crash-loops.</summary>
    public async Task SuperviseAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            int exitCode;
            try
            {
                var process = Start();
                await process.WaitForExitAsync(stopping);
                exitCode = process.ExitCode;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                // Not started at all (a missing executable): the same decision as a crash, so it ends in a crash loop.
                _log.Line($"[up] could not start {spec.FileName}: {e.Message}");
                exitCode = -1;
            }
            var decision = AfterExit(exitCode);
            if (decision is not RestartDecision.Restart restart) return;
            try
            {
                await Task.Delay(restart.Delay, time, stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            lock (_gate) _restarts++;
        }
    }

    /// <summary>SIGTERM, then SIGKILL of the process tree after <see cref="SupervisorOptions.StopGraceMs"/>. Call after supervision ended.</summary>
    public async Task StopAsync()
    {
        var process = _process;
        if (process is not null && !process.HasExited)
        {
            OsCommand.Terminate(process.Id);
            using var grace = new CancellationTokenSource(TimeSpan.FromMilliseconds(options.StopGraceMs));
            try
            {
                await process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                _log.Line($"[up] did not stop within {options.StopGraceMs} ms of SIGTERM; killing it");
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
            }
        }
        lock (_gate) _state = RoleStates.Stopped;
        RunDirectory.Delete(run.PidFile(spec.Role));
        stateChanged();
    }

    private Process Start()
    {
        // Through nice(1), which execs the role: the pid is the role's, and every thread it starts has its niceness (Linux
        // nices threads, so renicing a running .NET process after its thread pool started would miss threads).
        var info = new ProcessStartInfo(spec.Nice == 0 ? spec.FileName : "nice")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (spec.Nice != 0)
        {
            info.ArgumentList.Add("-n");
            info.ArgumentList.Add(spec.Nice.ToString(System.Globalization.CultureInfo.InvariantCulture));
            info.ArgumentList.Add(spec.FileName);
        }
        foreach (var arg in spec.Args) info.ArgumentList.Add(arg);
        foreach (var (name, value) in spec.Environment) info.Environment[name] = value;
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {spec.Role}");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) _log.Line(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _log.Line(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        lock (_gate)
        {
            _process?.Dispose();
            _process = process;
            _startedAt = time.GetUtcNow();
            _state = RoleStates.Running;
        }
        run.WritePid(run.PidFile(spec.Role), process.Id);
        stateChanged();
        return process;
    }

    private RestartDecision AfterExit(int exitCode)
    {
        var now = time.GetUtcNow();
        RestartDecision decision;
        lock (_gate)
        {
            _exits.Add(now);
            RestartPolicy.Forget(_exits, now, options);
            decision = RestartPolicy.Decide(_exits, now, options, exitCode);
            _lastExitCode = exitCode;
            _state = decision switch
            {
                RestartDecision.GiveUp => RoleStates.CrashLoop,
                RestartDecision.BadSettings => RoleStates.BadSettings,
                _ => RoleStates.Backoff,
            };
        }
        RunDirectory.Delete(run.PidFile(spec.Role));
        _log.Line(decision switch
        {
            RestartDecision.Restart r => $"[up] exited with code {exitCode}; restarting in {r.Delay.TotalSeconds:0.##} s",
            RestartDecision.GiveUp g => $"[up] exited with code {exitCode}: crash loop ({g.ExitsInWindow} exits within " +
                $"{options.CrashLoopWindowSeconds} s); not restarted again. See {run.LogFile(spec.Role)}",
            RestartDecision.BadSettings => $"[up] refused its settings (exit code {exitCode}); not restarted. See {run.LogFile(spec.Role)}",
            _ => throw new InvalidOperationException("unknown restart decision"),
        });
        stateChanged();
        return decision;
    }

    public void Dispose()
    {
        _process?.Dispose();
        _log.Dispose();
    }
}
