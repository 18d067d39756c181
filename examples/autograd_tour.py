"""A first look at Ember: tensors, autograd and a few steps of gradient descent."""
import ember

ember.manual_seed(0)
x = ember.randn(64, 3)
true_w = ember.tensor([[2.0], [-1.0], [0.5]])
y = x @ true_w + 0.1 * ember.randn(64, 1)

w = ember.zeros(3, 1, requires_grad=True)
for step in range(100):
    loss = ((x @ w - y) ** 2).mean()
    loss.backward()
    with ember.no_grad():
        w -= 0.1 * w.grad
    w.grad = None
    if step % 25 == 0:
        print(f"step {step:3d}  loss {loss.item():.4f}")
print("learned w:", w.detach().reshape(-1))
