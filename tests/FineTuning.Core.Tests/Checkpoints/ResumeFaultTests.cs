using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Checkpoints;
using FineTuning.Core.Tests.Training;
using FineTuning.Models.SafeTensors;
using FineTuning.Testing;
using FineTuning.Training;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Checkpoints;

/// <summary>A resume that fails changes nothing: everything in the checkpoint is checked before anything is copied.</summary>
public sealed class ResumeFaultTests : IDisposable
{
    private readonly TempDirectory _dir = new("ckpt-fault");

    public void Dispose() => _dir.Dispose();

    private static FineTuner<LabeledVector> Builder(Mlp model, string? checkpoints, int seed = 42) =>
        FineTuner.For(model, new VectorClassificationObjective()).WithOptions(o =>
        {
            o.MaxSteps = 6;
            o.BatchSize = 8;
            o.LearningRate = 0.01;
            o.Seed = seed;
            o.CheckpointDirectory = checkpoints;
        });

    /// <summary>Trains 6 steps into <see cref="_dir.Path"/> and returns checkpoint-6.</summary>
    private string WriteCheckpoint()
    {
        using Mlp model = TinyModels.Mlp(2, 8, 2, seed: 1);
        using (Builder(model, _dir.Path).Train(TrainerTests.Rings(40, seed: 3)))
        {
        }
        return Path.Combine(_dir.Path, "checkpoint-6");
    }

    private static Dictionary<string, Tensor> Snapshot(IEnumerable<(string Name, Tensor Value)> tensors) =>
        tensors.ToDictionary(t => t.Name, t => t.Value.detach().clone(), StringComparer.Ordinal);

    private static void AssertUnchanged(Dictionary<string, Tensor> before, IEnumerable<(string Name, Tensor Value)> now)
    {
        var current = now.ToList();
        Assert.Equal(before.Keys.OrderBy(k => k, StringComparer.Ordinal), current.Select(c => c.Name).OrderBy(k => k, StringComparer.Ordinal));
        foreach ((string name, Tensor value) in current)
            Assert.True(before[name].shape.SequenceEqual(value.shape) && before[name].equal(value).all().item<bool>(), $"{name} changed");
    }

    private static void Rewrite(string file, Action<Dictionary<string, Tensor>> change)
    {
        Dictionary<string, Tensor> tensors;
        using (SafeTensorsReader reader = SafeTensorsReader.Open(file)) tensors = reader.LoadAll();
        change(tensors);
        SafeTensorsWriter.Write(file, tensors);
    }

    [Fact]
    public void Train_ResumeWithOtherSeed_ThrowsBeforeTheModelChanges()
    {
        string checkpoint = WriteCheckpoint();
        using Mlp other = TinyModels.Mlp(2, 8, 2, seed: 99);
        Dictionary<string, Tensor> before = Snapshot(other.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));

        var e = Assert.Throws<CheckpointException>(() => Builder(other, null, seed: 7).ResumeFrom(_dir.Path).Train(TrainerTests.Rings(40, seed: 3)));

        Assert.Contains(Path.Combine(checkpoint, TrainingCheckpoint.StateFileName), e.Message, StringComparison.Ordinal);
        Assert.Contains("\"seed\" is 42", e.Message, StringComparison.Ordinal);
        AssertUnchanged(before, other.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
    }

    [Fact]
    public void Train_ResumeFromFolderWithoutOptimizerFile_IsATypedErrorNamingTheFile()
    {
        string checkpoint = WriteCheckpoint();
        File.Delete(Path.Combine(checkpoint, "optimizer.safetensors"));
        using Mlp other = TinyModels.Mlp(2, 8, 2, seed: 99);
        Dictionary<string, Tensor> before = Snapshot(other.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));

        var e = Assert.Throws<CheckpointException>(() => Builder(other, null).ResumeFrom(_dir.Path).Train(TrainerTests.Rings(40, seed: 3)));

        Assert.Contains(Path.Combine(checkpoint, "optimizer.safetensors"), e.Message, StringComparison.Ordinal);
        AssertUnchanged(before, other.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
    }

    public static TheoryData<string> BadAdamWEntries() => new() { "step-shape-2", "step-negative", "step-fraction", "step-bool", "moment-shape", "moment-int", "moment-missing", "extra-key", "parameter-dtype", "parameter-shape" };

    [Theory]
    [MemberData(nameof(BadAdamWEntries))]
    public void Load_BadEntry_IsATypedErrorNamingFileAndFieldAndChangesNeitherWeightsNorOptimizer(string defect)
    {
        string checkpoint = WriteCheckpoint();
        string optimizerFile = Path.Combine(checkpoint, "optimizer.safetensors"), modelFile = Path.Combine(checkpoint, "model.safetensors");
        (string file, string field) = defect switch
        {
            "step-shape-2" or "step-negative" or "step-fraction" or "step-bool" => (optimizerFile, "\"step\""),
            "moment-shape" or "moment-int" => (optimizerFile, "fc1.weight.exp_avg"),
            "moment-missing" or "extra-key" => (optimizerFile, "fc2.bias.exp_avg_sq"),
            _ => (modelFile, "fc1.weight"),
        };
        Rewrite(file, t =>
        {
            switch (defect)
            {
                case "step-shape-2": t["step"] = tensor(new long[] { 6, 6 }); break;
                case "step-negative": t["step"] = tensor(-1L); break;
                case "step-fraction": t["step"] = tensor(1.5); break;
                case "step-bool": t["step"] = tensor(true); break;
                case "moment-shape": t["fc1.weight.exp_avg"] = zeros(3, 2); break;
                case "moment-int": t["fc1.weight.exp_avg"] = zeros(new long[] { 8, 2 }, ScalarType.Int32); break;
                case "moment-missing": t.Remove("fc2.bias.exp_avg_sq"); break;
                case "extra-key": t["fc2.bias.exp_avg_sq.typo"] = zeros(2); break;
                case "parameter-dtype": t["fc1.weight"] = t["fc1.weight"].to(ScalarType.Float64); break;
                default: t["fc1.weight"] = zeros(8, 3); break;
            }
        });

        using Mlp model = TinyModels.Mlp(2, 8, 2, seed: 99);
        List<TrainableParameter> trainable = Trainer<LabeledVector>.TrainableParameters(model);
        using IOptimizerState optimizer = new AdamWOptimizer().Create(trainable);
        foreach ((string name, Tensor t) in optimizer.StateDict()) if (name != "step") t.fill_(0.25); // a run in progress
        Dictionary<string, Tensor> weights = Snapshot(trainable.Select(p => (p.Name, (Tensor)p.Parameter)));
        Dictionary<string, Tensor> state = Snapshot(optimizer.StateDict().Select(kv => (kv.Key, kv.Value)));

        var e = Assert.Throws<CheckpointException>(() => TrainingCheckpoint.Load(checkpoint, trainable, optimizer, seed: 42, totalSteps: 6));

        Assert.Contains(file, e.Message, StringComparison.Ordinal);
        Assert.Contains(field.Trim('"'), e.Message, StringComparison.Ordinal);
        AssertUnchanged(weights, trainable.Select(p => (p.Name, (Tensor)p.Parameter)));
        AssertUnchanged(state, optimizer.StateDict().Select(kv => (kv.Key, kv.Value)));
    }

    [Fact]
    public void Load_SgdMomentumOfWrongShape_LeavesTheBuffersAsTheyWere()
    {
        using Mlp first = TinyModels.Mlp(2, 8, 2, seed: 1);
        using (FineTuner.For(first, new VectorClassificationObjective())
                   .WithOptions(o => { o.MaxSteps = 3; o.BatchSize = 8; o.Optimizer = new SgdOptimizer(Momentum: 0.9); o.CheckpointDirectory = _dir.Path; })
                   .Train(TrainerTests.Rings(40, seed: 3)))
        {
        }
        string checkpoint = Path.Combine(_dir.Path, "checkpoint-3");
        Rewrite(Path.Combine(checkpoint, "optimizer.safetensors"), t => t["fc2.weight.momentum_buffer"] = zeros(2, 9));

        using Mlp model = TinyModels.Mlp(2, 8, 2, seed: 99);
        List<TrainableParameter> trainable = Trainer<LabeledVector>.TrainableParameters(model);
        using IOptimizerState optimizer = new SgdOptimizer(Momentum: 0.9).Create(trainable);
        using (no_grad())
        {
            foreach (TrainableParameter p in trainable) p.Parameter.grad = ones_like(p.Parameter);
        }
        optimizer.Step(0.1); // creates the momentum buffers
        Dictionary<string, Tensor> state = Snapshot(optimizer.StateDict().Select(kv => (kv.Key, kv.Value)));
        Dictionary<string, Tensor> weights = Snapshot(trainable.Select(p => (p.Name, (Tensor)p.Parameter)));

        var e = Assert.Throws<CheckpointException>(() => TrainingCheckpoint.Load(checkpoint, trainable, optimizer, seed: 42, totalSteps: 3));

        Assert.Contains("fc2.weight.momentum_buffer", e.Message, StringComparison.Ordinal);
        AssertUnchanged(state, optimizer.StateDict().Select(kv => (kv.Key, kv.Value)));
        AssertUnchanged(weights, trainable.Select(p => (p.Name, (Tensor)p.Parameter)));
    }
}
