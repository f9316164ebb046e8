using Payrail.Gateway;
using Xunit;

namespace Payrail.Tests.Gateway;

/// <summary>The bucket's arithmetic (the Lua script is the same function; the Redis tests run it).</summary>
public sealed class TokenBucketTests
{
    [Fact]
    public void A_new_bucket_allows_the_burst_then_refuses_with_the_time_to_one_more_request()
    {
        TokenBucketState? state = null;
        for (var i = 0; i < 20; i++)
        {
            var (next, decision) = TokenBucket.Take(state, 1_000, 10, 20);
            Assert.True(decision.Allowed);
            state = next;
        }

        var (_, refused) = TokenBucket.Take(state, 1_000, 10, 20);

        Assert.False(refused.Allowed);
        Assert.Equal(100, refused.RetryAfterMs);
        Assert.Equal(2_000, refused.FullInMs);
    }

    [Fact]
    public void A_clock_behind_the_stored_time_refills_nothing_and_never_grants_an_extra_request()
    {
        var (state, _) = TokenBucket.Take(new TokenBucketState(0, 5_000), 4_000, 10, 20);

        Assert.Equal(new TokenBucketState(0, 5_000), state);
        Assert.False(TokenBucket.Take(state, 4_500, 10, 20).Decision.Allowed);
    }

    [Fact]
    public void An_idle_bucket_refills_to_its_burst_and_no_further()
    {
        var (state, decision) = TokenBucket.Take(new TokenBucketState(0, 0), 3_600_000, 10, 20);

        Assert.True(decision.Allowed);
        Assert.Equal(19_000, state.MilliTokens);
    }
}
