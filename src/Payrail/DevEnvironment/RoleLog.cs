using System.Text;

namespace Payrail.DevEnvironment;

/// <summary>
/// One role's output: each line to <c>.payrail/logs/&lt;role&gt;.log</c> as the child wrote it, and to the terminal
/// prefixed with the role. The file is bounded: past <see cref="SupervisorOptions.MaxLogBytes"/> it is rotated to
/// <c>&lt;role&gt;.log.1</c> (the previous one is dropped), so a long `up` never fills the disk.
/// </summary>
public sealed class RoleLog : IDisposable
{
    private readonly object _gate = new();
    private readonly string _role;
    private readonly string _path;
    private readonly long _maxBytes;
    private readonly TextWriter _terminal;
    private StreamWriter _file;
    private long _bytes;

    public RoleLog(string role, string path, long maxBytes, TextWriter terminal)
    {
        _role = role;
        _path = path;
        _maxBytes = maxBytes;
        _terminal = terminal;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        _file = Open(path);
        _bytes = _file.BaseStream.Length;
    }

    public void Line(string line)
    {
        _terminal.WriteLine($"{_role,-10} | {line}");
        lock (_gate)
        {
            _file.WriteLine(line);
            _bytes += Encoding.UTF8.GetByteCount(line) + 1;
            if (_bytes >= _maxBytes) Rotate();
        }
    }

    private void Rotate()
    {
        _file.Dispose();
        File.Move(_path, _path + ".1", overwrite: true);
        _file = Open(_path);
        _bytes = 0;
    }

    // Flushed per line: `tail -f` and a crash both see every line the child wrote.
    private static StreamWriter Open(string path) => new(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
    {
        AutoFlush = true,
    };

    public void Dispose()
    {
        lock (_gate) _file.Dispose();
    }
}
