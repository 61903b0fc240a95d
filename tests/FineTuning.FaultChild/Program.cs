// The process that the fault tests kill -9 while it saves. It prints "ready" before its first save and "saved <n>"
// after each save returns (so the test knows which saves completed), and runs until it is killed.
//   checkpoint <dir>          trains FaultScenarios' run with a checkpoint every step, resuming from <dir> if possible
//   adapter <dir> <first>     saves a LoRA adapter over and over; save n fills every adapter weight with n / 1000 and
//                             records "gen-<n>" as base_model_name_or_path, so a mixed folder is detected
using System;
using System.Globalization;
using FineTuning.Checkpoints;
using FineTuning.FaultChild;
using FineTuning.Lora;
using FineTuning.Lora.Peft;
using FineTuning.Testing;
using static TorchSharp.torch;

if (args.Length < 2) return Usage();
string dir = args[1];
switch (args[0])
{
    case "checkpoint":
    {
        using Mlp model = FaultScenarios.CheckpointModel();
        var run = FaultScenarios.CheckpointRun(model, dir).WithLogging(new SavedStepsLoggerFactory());
        if (TrainingCheckpoint.Latest(dir) is not null) run = run.ResumeFrom(dir);
        Console.WriteLine("ready");
        using var result = run.Train(FaultScenarios.CheckpointData());
        Console.WriteLine("done");
        return 0;
    }
    case "adapter":
    {
        long first = args.Length > 2 ? long.Parse(args[2], CultureInfo.InvariantCulture) : 1;
        using nn.Module<Tensor, Tensor> model = AdapterScenario.Model();
        Console.WriteLine("ready");
        for (long n = first; ; n++)
        {
            AdapterScenario.Fill(model, n);
            PeftAdapter.Save(model, dir, baseModelNameOrPath: AdapterScenario.Generation(n));
            Console.WriteLine($"saved {n}");
        }
    }
    default:
        return Usage();
}

static int Usage()
{
    Console.Error.WriteLine("usage: FineTuning.FaultChild checkpoint <dir> | adapter <dir> <first>");
    return 2;
}
