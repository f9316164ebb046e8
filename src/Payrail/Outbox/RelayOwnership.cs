using Npgsql;

namespace Payrail.Outbox;

/// <summary>
/// Which ownership partitions this relay publishes. Each partition is a session-level PostgreSQL advisory lock
/// (<c>pg_try_advisory_lock(PartitionLockClass, p)</c>) held on the relay's own session connection, so a relay that dies
/// (kill -9, lost connection) gives its partitions back the moment PostgreSQL sees the session end, and another relay
/// takes them at its next check. Every relay also holds a membership lock (<see cref="MemberLockClass"/>, its backend
/// pid), so each can count the live relays and keep no more than its fair share: a relay that starts next to a busy one
/// gets half the partitions within two checks. Partitions are given back only between rounds, after every row sent
/// was acknowledged and marked, so two relays never hold the same payment's unacknowledged events at once.
/// </summary>
public sealed class RelayOwnership(int partitions, int timeoutSeconds)
{
    /// <summary>'RLAY' and 'RLMB': lock classes of the two-key advisory locks, apart from any other lock in the database.</summary>
    public const int PartitionLockClass = 0x524C4159;
    public const int MemberLockClass = 0x524C4D42;

    private readonly SortedSet<int> _owned = [];
    // What other threads read (status, tests): a copy published after each change; _owned is the relay loop's alone.
    private volatile int[] _published = [];

    // Where this relay starts looking for free partitions: its own place, so relays starting together rarely collide.
    private readonly int _start = Random.Shared.Next(partitions);

    /// <summary>The partitions owned as of the last change (safe to read from any thread).</summary>
    public IReadOnlyCollection<int> Owned => _published;

    /// <summary>
    /// The pure decision: how many partitions this relay should gain (positive) or give back (negative), holding
    /// <paramref name="owned"/> of <paramref name="partitions"/> while <paramref name="members"/> relays live. The fair
    /// share is rounded up, so every partition has a taker.
    /// </summary>
    public static int Change(int owned, int members, int partitions)
    {
        var fairShare = (partitions + Math.Max(1, members) - 1) / Math.Max(1, members);
        return fairShare - owned;
    }

    /// <summary>Joins the relays: takes this session's membership lock. Call once per new session.</summary>
    public async Task JoinAsync(NpgsqlConnection session, CancellationToken cancellationToken)
    {
        Lost();
        await using var command = new NpgsqlCommand("SELECT pg_advisory_lock(@class, pg_backend_pid())", session) { CommandTimeout = timeoutSeconds };
        command.Parameters.AddWithValue("class", MemberLockClass);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Forgets every partition (the session is gone, and PostgreSQL released its locks with it).</summary>
    public void Lost()
    {
        _owned.Clear();
        _published = [];
    }

    /// <summary>
    /// One check: confirms the locks this session holds, then takes free partitions up to the fair share or gives back
    /// those above it. Returns the partitions owned afterwards.
    /// </summary>
    public async Task<int> RebalanceAsync(NpgsqlConnection session, CancellationToken cancellationToken)
    {
        var (members, held) = await ReadLocksAsync(session, cancellationToken);
        // What PostgreSQL says this session holds is the truth; a difference is a bug, but never one to publish through.
        _owned.Clear();
        _owned.UnionWith(held.Where(p => p < partitions));
        var change = Change(_owned.Count, members, partitions);
        if (change < 0)
            foreach (var partition in _owned.Reverse().Take(-change).ToList())
                if (await LockAsync(session, "pg_advisory_unlock", partition, cancellationToken)) _owned.Remove(partition);
        if (change > 0)
        {
            for (var i = 0; i < partitions && change > 0; i++)
            {
                var partition = (_start + i) % partitions;
                if (_owned.Contains(partition) || !await LockAsync(session, "pg_try_advisory_lock", partition, cancellationToken)) continue;
                _owned.Add(partition);
                change--;
            }
        }
        _published = [.. _owned];
        return _owned.Count;
    }

    private async Task<(int Members, List<int> Held)> ReadLocksAsync(NpgsqlConnection session, CancellationToken cancellationToken)
    {
        // Advisory locks belong to one database; pg_locks shows the whole cluster's.
        await using var command = new NpgsqlCommand("""
            SELECT l.classid::bigint, l.objid::bigint, l.pid = pg_backend_pid()
            FROM pg_locks l
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND l.classid::bigint IN (@partition_class, @member_class)
            """, session) { CommandTimeout = timeoutSeconds };
        command.Parameters.AddWithValue("partition_class", (long)PartitionLockClass);
        command.Parameters.AddWithValue("member_class", (long)MemberLockClass);
        var members = 0;
        var held = new List<int>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var (lockClass, key, mine) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetBoolean(2));
            if (lockClass == MemberLockClass) members++;
            else if (mine) held.Add((int)key);
        }
        return (members, held);
    }

    private async Task<bool> LockAsync(NpgsqlConnection session, string function, int partition, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT {function}(@class, @partition)", session) { CommandTimeout = timeoutSeconds };
        command.Parameters.AddWithValue("class", PartitionLockClass);
        command.Parameters.AddWithValue("partition", partition);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
