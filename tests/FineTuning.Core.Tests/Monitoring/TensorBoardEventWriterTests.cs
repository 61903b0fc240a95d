using System;
using System.IO;
using System.Linq;
using System.Text;
using FineTuning.Monitoring;
using FineTuning.Testing;
using FineTuning.Training;
using Xunit;

namespace FineTuning.Core.Tests.Monitoring;

public sealed class TensorBoardEventWriterTests
{
    [Fact]
    public void Compute_CheckValue_IsTheCrc32CKnownAnswer()
    {
        byte[] check = Encoding.ASCII.GetBytes("123456789");
        Assert.Equal(0xE3069283u, Crc32C.Compute(check));   // RFC 3720 / the CRC catalogue's check value
        Assert.Equal(0xE3069283u, TensorBoardReader.Crc32C(check));
        Assert.Equal(0u, Crc32C.Compute(ReadOnlySpan<byte>.Empty));
    }

    [Fact]
    public void Masked_Zero_IsTheMaskConstant()
    {
        // The CRC of an empty input is 0: rotating 0 leaves 0, so the masked value is the mask delta itself.
        Assert.Equal(0xa282ead8u, Crc32C.Masked(ReadOnlySpan<byte>.Empty));
    }

    [Fact]
    public void AddScalar_ReadBackWithAnIndependentReader_GivesFileVersionThenTagsStepsAndValues()
    {
        using var folder = new TempDirectory("ft-tb");
        var clock = new FixedClock(new DateTimeOffset(2026, 1, 2, 3, 4, 5, 250, TimeSpan.Zero));
        string path;
        using (TensorBoardEventWriter writer = TensorBoardEventWriter.Create(folder.Path, clock))
        {
            path = writer.Path;
            writer.AddScalar("train/loss", 2.5, 1);
            writer.AddScalar("eval/accuracy", 0.1, 300);   // 300 needs a two-byte varint
        }

        Assert.Equal($"events.out.tfevents.{clock.GetUtcNow().ToUnixTimeSeconds():D10}.{Environment.MachineName}", Path.GetFileName(path));
        var events = TensorBoardReader.Read(path);
        Assert.Equal(3, events.Count);
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.All(events, e => Assert.Equal(clock.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0, e.WallTime));
        Assert.Equal((1L, "train/loss", 2.5f), (events[1].Step, events[1].Scalars.Single().Tag, events[1].Scalars.Single().Value));
        Assert.Equal((300L, "eval/accuracy", 0.1f), (events[2].Step, events[2].Scalars.Single().Tag, events[2].Scalars.Single().Value));
    }

    [Fact]
    public void Create_TwiceInTheSameSecond_GivesTwoFiles()
    {
        using var folder = new TempDirectory("ft-tb");
        var clock = new FixedClock(DateTimeOffset.UnixEpoch.AddDays(1));
        using TensorBoardEventWriter first = TensorBoardEventWriter.Create(folder.Path, clock), second = TensorBoardEventWriter.Create(folder.Path, clock);

        Assert.Equal(first.Path + ".1", second.Path);
    }

    [Fact]
    public void Train_WithLoggingDirectory_EventFileHoldsEveryStepAndEvaluationOfTheRun()
    {
        using var folder = new TempDirectory("ft-tb");
        using TrainingRun run = ScriptedRun.Train(b => b, o => o.LoggingDirectory = folder.Path);

        string file = Assert.Single(Directory.GetFiles(folder.Path, "events.out.tfevents.*"));
        var scalars = TensorBoardReader.Read(file).Skip(1).SelectMany(e => e.Scalars.Select(s => (e.Step, s.Tag, s.Value))).ToList();
        Assert.Equal(run.History.Select(h => (h.Step, "train/loss", (float)h.Loss)), scalars.Where(s => s.Tag == "train/loss"));
        Assert.Equal(run.History.Select(h => (h.Step, "train/learning_rate", (float)h.LearningRate)), scalars.Where(s => s.Tag == "train/learning_rate"));
        Assert.Equal(run.History.Select(h => (h.Step, "train/grad_norm", (float)h.GradientNorm)), scalars.Where(s => s.Tag == "train/grad_norm"));
        Assert.Equal(run.Evaluations.Select(e => (e.Step, "eval/loss", (float)e.Loss)), scalars.Where(s => s.Tag == "eval/loss"));
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
