Console.WriteLine("devkafka: not yet implemented");
return 1;
