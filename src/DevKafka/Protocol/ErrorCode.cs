namespace DevKafka.Protocol;

/// <summary>Kafka error codes this broker returns (numbers as in the Kafka protocol guide).</summary>
public static class ErrorCode
{
    public const short None = 0;
    public const short OffsetOutOfRange = 1;
    public const short CorruptMessage = 2;
    public const short UnknownTopicOrPartition = 3;
    public const short MessageTooLarge = 10;
    public const short CoordinatorNotAvailable = 15;
    public const short InvalidTopic = 17;
    public const short RecordListTooLarge = 18;
    public const short InvalidRequiredAcks = 21;
    public const short IllegalGeneration = 22;
    public const short InconsistentGroupProtocol = 23;
    public const short InvalidGroupId = 24;
    public const short UnknownMemberId = 25;
    public const short InvalidSessionTimeout = 26;
    public const short RebalanceInProgress = 27;
    public const short UnsupportedVersion = 35;
    public const short TopicAlreadyExists = 36;
    public const short InvalidPartitions = 37;
    public const short InvalidReplicationFactor = 38;
    public const short InvalidRequest = 42;
    public const short UnsupportedForMessageFormat = 43;
    public const short OutOfOrderSequenceNumber = 45;
    public const short InvalidProducerEpoch = 47;
    public const short NonEmptyGroup = 68;
    public const short GroupIdNotFound = 69;
    public const short MemberIdRequired = 79;
    public const short InvalidRecord = 87;
}
