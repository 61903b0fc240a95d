using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>Momentum buffers (and fp32 master weights for low-precision parameters) of one SGD run.</summary>
internal sealed class SgdState : IOptimizerState
{
    private readonly SgdOptimizer _options;
    private readonly List<Slot> _slots = new();

    public SgdState(SgdOptimizer options, IReadOnlyList<TrainableParameter> parameters)
    {
        _options = options;
        foreach (TrainableParameter p in parameters)
            _slots.Add(new Slot(p.Name, p.Parameter, p.ApplyWeightDecay || options.DecayNormsAndBiases, MasterWeights.For(p.Parameter)));
    }

    public void Step(double learningRate)
    {
        using Scalar wd = _options.WeightDecay, momentum = _options.Momentum, minusLr = -learningRate;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (Slot s in _slots)
        {
            Tensor? grad = s.Parameter.grad;
            if (grad is null) continue;
            Tensor target = s.Master?.Weights ?? s.Parameter;
            Tensor g = grad.to(MasterWeights.StateType(s.Parameter), copy: true);
            if (s.Decay && _options.WeightDecay != 0) g.add_(target, alpha: wd);
            if (_options.Momentum != 0)
            {
                if (s.Buffer is null) s.Buffer = g.clone().DetachFromDisposeScope();
                else s.Buffer.mul_(momentum).add_(g);
                g = _options.Nesterov ? g.add(s.Buffer, alpha: momentum) : s.Buffer;
            }
            target.add_(g, alpha: minusLr);
            s.Master?.CopyToParameter();
        }
    }

    public void Dispose()
    {
        foreach (Slot s in _slots)
        {
            s.Buffer?.Dispose();
            s.Master?.Dispose();
        }
        _slots.Clear();
    }

    public IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var state = new Dictionary<string, Tensor>(System.StringComparer.Ordinal);
        foreach (Slot s in _slots)
        {
            if (s.Buffer is not null) state[s.Name + ".momentum_buffer"] = s.Buffer;
            if (s.Master is not null) state[s.Name + ".master"] = s.Master.Weights;
        }
        return state;
    }

    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        // Everything is checked before anything changes: a bad entry leaves the run's state as it was.
        var expected = new List<string>();
        foreach (Slot s in _slots)
        {
            if (state.ContainsKey(s.Name + ".momentum_buffer")) expected.Add(s.Name + ".momentum_buffer");
            if (s.Master is not null) expected.Add(s.Name + ".master");
        }
        OptimizerStateIO.CheckKeys(state, expected);
        foreach (Slot s in _slots)
        {
            if (state.TryGetValue(s.Name + ".momentum_buffer", out Tensor? buffer)) OptimizerStateIO.CheckFits(s.Parameter, buffer, s.Name + ".momentum_buffer");
            if (s.Master is not null) OptimizerStateIO.CheckFits(s.Master.Weights, state[s.Name + ".master"], s.Name + ".master");
        }
        using var noGrad = no_grad();
        foreach (Slot s in _slots)
        {
            if (state.TryGetValue(s.Name + ".momentum_buffer", out Tensor? buffer))
            {
                s.Buffer?.Dispose();
                s.Buffer = zeros_like(s.Parameter, dtype: MasterWeights.StateType(s.Parameter)).DetachFromDisposeScope();
                s.Buffer.copy_(buffer);
            }
            if (s.Master is not null)
            {
                s.Master.Weights.copy_(state[s.Name + ".master"]);
                s.Master.CopyToParameter();
            }
        }
    }

    private sealed class Slot(string name, TorchSharp.Modules.Parameter parameter, bool decay, MasterWeights? master)
    {
        public string Name { get; } = name;

        public TorchSharp.Modules.Parameter Parameter { get; } = parameter;
        public bool Decay { get; } = decay;
        public MasterWeights? Master { get; } = master;
        public Tensor? Buffer { get; set; }
    }
}
