"""Hand-checkable cases for every op, on both engines (compiled and pure).

Each expected number here is worked out by hand or with plain float math.
"""

import math
from fractions import Fraction

import numpy as np
import pytest

from exprgraph import readme_example


def leaf_of(node, *exclude):
    """The one child of ``node`` that is not among ``exclude``."""
    (leaf,) = [c for c in node._prev if all(c is not e for e in exclude)]
    return leaf


def has_same_members(s, objs):
    return len(s) == len(objs) and all(any(x is o for o in objs) for x in s)


# --- the README example ---------------------------------------------------------


def test_readme_example(V):
    a, b, g = readme_example(V)
    assert f"{g.data:.4f}" == "24.7041"
    assert f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"


def test_readme_example_engines_agree_bit_for_bit():
    from conftest import compiled_value, pure_value

    a1, b1, g1 = readme_example(compiled_value())
    a2, b2, g2 = readme_example(pure_value())
    assert (g1.data, a1.grad, b1.grad) == (g2.data, a2.grad, b2.grad)


# --- construction, data, grad, repr ------------------------------------------------


@pytest.mark.parametrize("x, expected", [
    (2, 2), (2.5, 2.5), (True, 1), (False, 0), (-0.0, -0.0),
    (np.float64(1.25), 1.25), (np.float32(0.5), 0.5), (np.int64(-7), -7),
    (Fraction(3, 4), 0.75), (float("inf"), float("inf")),
])
def test_data_is_an_int_or_a_float_as_given(V, x, expected):
    # micrograd keeps what it is given; integers of any kind are held as ints
    v = V(x)
    assert type(v.data) is type(expected) and v.data == expected
    assert math.copysign(1.0, v.data) == math.copysign(1.0, expected)
    assert type(v.grad) is int and v.grad == 0
    assert v._op == "" and v._prev == set()


def test_repr(V):
    v = V(2)
    assert repr(v) == "Value(data=2, grad=0)"
    v.backward()
    assert repr(v) == "Value(data=2, grad=1)"
    assert repr(V(-0.5) * 3) == "Value(data=-1.5, grad=0)"
    assert repr(V(2.0)) == "Value(data=2.0, grad=0)"


def test_setters_keep_ints_and_floats(V):
    v = V(1.0)
    v.data = 3
    v.grad = True
    assert (v.data, v.grad) == (3, 1)
    assert type(v.data) is int and type(v.grad) is int
    v.data = np.float32(0.25)
    v.grad = np.int64(-4)
    assert (v.data, v.grad) == (0.25, -4)
    assert type(v.data) is float and type(v.grad) is int


@pytest.mark.parametrize("bad", ["1", None, [1.0], 1 + 2j, np.array([1.0])])
def test_setters_reject_non_numbers(V, bad):
    v = V(1.5)
    v.grad = 2.0
    with pytest.raises(TypeError):
        v.data = bad
    with pytest.raises(TypeError):
        v.grad = bad
    assert (v.data, v.grad) == (1.5, 2.0)


def test_setting_data_changes_later_ops_not_earlier_results(V):
    a, b = V(2.0), V(5.0)
    c = a * b
    a.data = 10.0
    assert c.data == 10.0  # computed when c was built
    assert (a * b).data == 50.0
    # As in the original, backward reads the children's data as they are now.
    c.backward()
    assert (a.grad, b.grad) == (5.0, 10.0)


def test_label(V):
    assert V(1.0, label="w").label == "w"
    assert V(1.0).label == ""


def test_identity_equality_and_hashing(V):
    a, b = V(1.0), V(1.0)
    assert a == a and a != b and not (a == b)
    assert len({a, b, a}) == 2
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b"


# --- each op: forward, local gradient, _op, _prev --------------------------------


def grads_of(out, *inputs):
    out.backward()
    return tuple(x.grad for x in inputs)


def test_add(V):
    a, b = V(3.0), V(-2.0)
    c = a + b
    assert c.data == 1.0 and c._op == "+"
    assert has_same_members(c._prev, [a, b])
    assert grads_of(c, a, b) == (1.0, 1.0)


def test_mul(V):
    a, b = V(3.0), V(-2.0)
    c = a * b
    assert c.data == -6.0 and c._op == "*"
    assert has_same_members(c._prev, [a, b])
    assert grads_of(c, a, b) == (-2.0, 3.0)


def test_neg_is_mul_by_minus_one(V):
    a = V(3.0)
    c = -a
    assert c.data == -3.0 and c._op == "*"
    minus_one = leaf_of(c, a)
    assert minus_one.data == -1.0 and minus_one._op == ""
    assert grads_of(c, a) == (-1.0,)


def test_sub_is_add_of_negation(V):
    a, b = V(3.0), V(-2.0)
    c = a - b
    assert c.data == 5.0 and c._op == "+"
    neg = leaf_of(c, a)
    assert neg._op == "*" and neg.data == 2.0
    assert any(x is b for x in neg._prev)
    assert grads_of(c, a, b) == (1.0, -1.0)


def test_div_is_mul_by_power_minus_one(V):
    a, b = V(3.0), V(-2.0)
    c = a / b
    assert c.data == -1.5 and c._op == "*"
    inv = leaf_of(c, a)
    assert inv._op == "**-1" and inv.data == -0.5
    assert has_same_members(inv._prev, [b])
    # d/da = 1/b = -0.5; d/db = -a/b**2 = -0.75
    assert grads_of(c, a, b) == (-0.5, -0.75)


@pytest.mark.parametrize("x, c, op, value, grad", [
    (3.0, 2, "**2", 9.0, 6.0),
    (3.0, 3, "**3", 27.0, 27.0),
    (-2.0, 3, "**3", -8.0, 12.0),
    (2.0, -1, "**-1", 0.5, -0.25),
    (2.0, -2, "**-2", 0.25, -0.25),
    (4.0, 0.5, "**0.5", 2.0, 0.25),
    (4.0, 1.5, "**1.5", 8.0, 3.0),
    (4.0, -0.5, "**-0.5", 0.5, -0.0625),
    (3.0, 2.0, "**2.0", 9.0, 6.0),
    (5.0, 0, "**0", 1.0, 0.0),
    (5.0, 1, "**1", 5.0, 1.0),
])
def test_pow_by_number(V, x, c, op, value, grad):
    a = V(x)
    out = a**c
    assert out._op == op
    assert out.data == value
    assert has_same_members(out._prev, [a])
    assert grads_of(out, a) == (grad,)


def test_pow_op_string_of_numpy_exponents(V):
    a = V(2.0)
    assert (a ** np.int64(3))._op == "**3"
    assert (a ** np.float64(0.5))._op == "**0.5"


@pytest.mark.parametrize("c", [2**53 + 1, 2**63, 2**70, -(2**64)])
def test_pow_op_string_of_large_integer_exponents(V, c):
    # The original formats the exponent as given: f'**{c}'.
    out = V(1.0) ** c
    assert out._op == f"**{c}"
    assert out.data == 1.0


@pytest.mark.parametrize("x, value, grad", [
    (3.0, 3.0, 1.0), (-2.0, 0.0, 0.0), (0.0, 0.0, 0.0), (-0.0, -0.0, 0.0), (1e-300, 1e-300, 1.0),
])
def test_relu(V, x, value, grad):
    a = V(x)
    out = a.relu()
    assert out._op == "ReLU" and out.data == value
    assert math.copysign(1.0, out.data) == math.copysign(1.0, value)
    assert grads_of(out, a) == (grad,)


@pytest.mark.parametrize("x", [-3.0, -0.5, 0.0, 0.25, 2.0, 30.0])
def test_tanh(V, x):
    a = V(x)
    out = a.tanh()
    t = math.tanh(x)
    assert out._op == "tanh" and out.data == t
    assert grads_of(out, a) == ((1 - t * t) * 1.0,)


@pytest.mark.parametrize("x", [-2.0, 0.0, 0.5, 1.0, 700.0])
def test_exp(V, x):
    a = V(x)
    out = a.exp()
    assert out._op == "exp" and out.data == math.exp(x)
    assert grads_of(out, a) == (math.exp(x),)


@pytest.mark.parametrize("x", [1.0, 2.0, 0.1, 1e-300, 1e300])
def test_log(V, x):
    a = V(x)
    out = a.log()
    assert out._op == "log" and out.data == math.log(x)
    assert grads_of(out, a) == (1.0 / x,)


@pytest.mark.parametrize("x, value", [
    (0.0, 0.5),
    (2.0, 1.0 / (1.0 + math.exp(-2.0))),
    (-2.0, math.exp(-2.0) / (1.0 + math.exp(-2.0))),
    (800.0, 1.0),
    (-800.0, 0.0),  # no overflow on either side
])
def test_sigmoid(V, x, value):
    a = V(x)
    out = a.sigmoid()
    assert out._op == "sigmoid" and out.data == value
    assert grads_of(out, a) == ((value * (1.0 - value)) * 1.0,)


def test_sigmoid_at_zero_has_grad_a_quarter(V):
    a = V(0.0)
    assert grads_of(a.sigmoid(), a) == (0.25,)


def test_value_pow_value(V):
    a, b = V(2.0), V(3.0)
    out = a**b
    assert out.data == 8.0 and out._op == "**"
    assert has_same_members(out._prev, [a, b])
    assert grads_of(out, a, b) == (12.0, 8.0 * math.log(2.0))


def test_value_pow_value_at_zero_base(V):
    a, b = V(0.0), V(2.0)
    out = a**b
    assert out.data == 0.0
    assert grads_of(out, a, b) == (0.0, 0.0)


def test_value_pow_value_negative_base_integer_exponent(V):
    a, b = V(-2.0), V(2.0)
    out = a**b
    assert out.data == 4.0
    da, db = grads_of(out, a, b)
    assert da == -4.0 and math.isnan(db)  # d/db of (-2)**b is undefined


def test_number_pow_value(V):
    b = V(3.0)
    out = 2 ** b
    assert out.data == 8.0 and out._op == "**"
    base = leaf_of(out, b)
    assert base.data == 2.0 and base._op == ""
    assert grads_of(out, b) == (8.0 * math.log(2.0),)


def test_same_node_twice(V):
    a = V(3.0)
    sq = a * a
    assert sq.data == 9.0 and has_same_members(sq._prev, [a])
    assert grads_of(sq, a) == (6.0,)
    b = V(3.0)
    assert grads_of(b + b, b) == (2.0,)
    c = V(3.0)
    assert grads_of(c - c, c) == (0.0,)
    d = V(2.0)
    out = d**d  # 4, d/dd = d**d * (log d + 1)
    assert out.data == 4.0
    assert math.isclose(grads_of(out, d)[0], 4.0 * (math.log(2.0) + 1.0), rel_tol=1e-15)


# --- numbers on either side -----------------------------------------------------

SCALARS = [2, 2.0, True, np.float64(2.0), np.int64(2), np.float32(2.0), Fraction(2)]


@pytest.mark.parametrize("s", SCALARS, ids=lambda s: type(s).__name__)
def test_reflected_ops_with_numbers(V, s):
    k = float(s)
    cases = [  # (build, value, d/dx at x = 3)
        (lambda x: x + s, 3.0 + k, 1.0),
        (lambda x: s + x, k + 3.0, 1.0),
        (lambda x: x - s, 3.0 - k, 1.0),
        (lambda x: s - x, k - 3.0, -1.0),
        (lambda x: x * s, 3.0 * k, k),
        (lambda x: s * x, k * 3.0, k),
        (lambda x: x / s, 3.0 * k**-1, k**-1),  # (not for np.int64: see below)
        (lambda x: s / x, k * 3.0**-1, -k / 9.0),
        (lambda x: x**s, 3.0**k, k * 3.0 ** (k - 1)),
        (lambda x: s**x, k**3.0, k**3.0 * math.log(k)),
    ]
    if isinstance(s, np.integer):
        del cases[6]
    for build, value, grad in cases:
        x = V(3.0)
        out = build(x)
        assert isinstance(out, V)
        assert out.data == value
        out.backward()
        assert math.isclose(x.grad, grad, rel_tol=1e-15), (x.grad, grad)


def test_number_operands_become_leaves(V):
    x = V(3.0)
    for out, leaf_data in [(x + 2, 2.0), (2 + x, 2.0), (x * 2, 2.0), (2 * x, 2.0),
                           (x - 2, -2.0), (x / 4, 0.25)]:
        leaf = leaf_of(out, x)
        assert (leaf.data, leaf._op, leaf._prev) == (leaf_data, "", set())


def test_rsub_and_rtruediv_decomposition(V):
    x = V(4.0)
    out = 10 - x  # 10 + (-x): children (-x) and a leaf 10
    neg = [c for c in out._prev if c._op == "*"]
    assert out._op == "+" and len(neg) == 1 and neg[0].data == -4.0
    assert {c.data for c in out._prev} == {-4.0, 10.0}
    out = 10 / x  # (x ** -1) * 10
    assert out._op == "*" and out.data == 10 * 4.0**-1
    assert sorted(c._op for c in out._prev) == ["", "**-1"]


# Floats whose Python (libm pow) reciprocal x ** -1 differs in the last bit
# from the correctly rounded 1 / x. Division is x * y ** -1 in micrograd, so
# these must use pow, not a division.
POW_NOT_DIV = [0.9999999999999999, 0.001544198940419722, 0.9854524745808368,
               1.1119367498928814, 3.023938118923579, 187843.98658016667]


@pytest.mark.parametrize("x", POW_NOT_DIV)
def test_division_uses_python_pow_for_the_reciprocal(V, x):
    assert x ** -1 != 1 / x  # the premise of this case
    inv = x ** -1
    a = V(x)
    assert (a ** -1).data == inv
    assert (a / a).data == x * inv
    assert (V(2.5) / a).data == 2.5 * inv
    assert (1 / a).data == inv * 1
    assert (3 / a).data == inv * 3
    assert (V(2.5) / x).data == 2.5 * inv
    (p,) = [c for c in (V(2.5) / a)._prev if c._op == "**-1"]
    assert p.data == inv


def test_number_is_negated_and_inverted_as_python_does(V):
    # a - 0 adds -0 == +0 (an int), a - 0.0 adds -0.0: the results differ in sign.
    x = V(-0.0)
    assert math.copysign(1.0, (x - 0).data) == 1.0
    assert math.copysign(1.0, (x - 0.0).data) == -1.0
    # a / n multiplies by n ** -1 computed in n's own type (float32 here).
    y = V(3.0)
    assert (y / np.float32(0.1)).data == 3.0 * float(np.float32(0.1) ** -1)


def test_division_by_a_numpy_integer_fails_as_in_the_original(V):
    # x / n is x * n**-1 with n**-1 computed by numpy, which refuses negative
    # integer powers of integers; the original micrograd fails the same way.
    with pytest.raises(ValueError):
        V(3.0) / np.int64(2)
    assert (V(3.0) / np.float64(2.0)).data == 1.5


# --- backward ---------------------------------------------------------------------


def test_grads_accumulate_across_two_backward_calls(V):
    # x -> y = x*x -> z = y + x. Pass 1: z=1, y=1, x = 1 + 2*1 + 2*1 = 5.
    # Pass 2 (nothing zeroed; z reset to 1): y = 2, x = 5 + 1 + 2*2 + 2*2 = 14.
    x = V(2.0)
    y = x * x
    z = y + x
    z.backward()
    assert (z.grad, y.grad, x.grad) == (1.0, 1.0, 5.0)
    z.backward()
    assert (z.grad, y.grad, x.grad) == (1.0, 2.0, 14.0)


def test_backward_sets_the_root_grad_to_one(V):
    x = V(2.0)
    y = x * 3
    y.grad = 7.0
    y.backward()
    assert y.grad == 1.0 and x.grad == 3.0


def test_backward_of_a_leaf(V):
    x = V(2.0)
    x.backward()
    assert x.grad == 1.0


def test_zeroed_grads_restart(V):
    x = V(2.0)
    y = x * x
    y.backward()
    x.grad = 0
    y.grad = 0
    y.backward()
    assert x.grad == 4.0


def test_manual_backward_calls_as_in_the_lecture(V):
    # Setting the root grad and calling each node's _backward() in reverse
    # topological order by hand does what backward() does.
    def neuron():
        x1, w1, x2, w2, b = V(2.0), V(-3.0), V(0.0), V(1.0), V(6.8813735870195432)
        x1w1, x2w2 = x1 * w1, x2 * w2
        s = x1w1 + x2w2
        n = s + b
        o = n.tanh()
        return (x1, w1, x2, w2, b), [o, n, s, x2w2, x1w1]

    inputs, reverse_topo = neuron()
    reverse_topo[0].grad = 1.0
    for node in reverse_topo:
        node._backward()
    manual = [v.grad for v in inputs]
    x1, w1, x2, w2, b = inputs
    t = reverse_topo[0].data
    assert t == math.tanh(((2.0 * -3.0) + (0.0 * 1.0)) + 6.8813735870195432)
    assert manual == [w1.data * (1 - t * t), x1.data * (1 - t * t), 1 - t * t, 0.0, 1 - t * t]
    inputs, reverse_topo = neuron()
    reverse_topo[0].backward()
    assert [v.grad for v in inputs] == manual


def test_leaf_backward_method_is_a_no_op(V):
    a = V(2.0)
    a.grad = 3.0
    a._backward()
    assert a.grad == 3.0


def test_hand_built_node_passes_no_gradient(V):
    a, b = V(2.0), V(3.0)
    c = V(5.0, (a, b), "+")
    assert c._op == "+" and has_same_members(c._prev, [a, b])
    c.backward()
    assert (c.grad, a.grad, b.grad) == (1.0, 0.0, 0.0)


def test_subgraph_backward_leaves_outer_nodes_alone(V):
    a = V(2.0)
    b = a * 3
    c = b + 1
    b.backward()
    assert (a.grad, b.grad, c.grad) == (3.0, 1.0, 0.0)


# --- errors -------------------------------------------------------------------------

NON_NUMBERS = ["1", None, [1.0], 1 + 2j, np.array([1.0]), np.array(1.0), {1: 2}]


@pytest.mark.parametrize("bad", NON_NUMBERS, ids=lambda b: type(b).__name__)
def test_type_errors_name_the_type(V, bad, no_new_nodes):
    x = V(1.0)
    with no_new_nodes():
        with pytest.raises(TypeError) as info:
            V(bad)
        if not isinstance(bad, np.ndarray):
            assert type(bad).__name__ in str(info.value)
        if isinstance(bad, np.ndarray):
            return              # arrays broadcast over a Value (test_extending)
        for op in [lambda: x + bad, lambda: bad + x, lambda: x - bad, lambda: bad - x,
                   lambda: x * bad, lambda: bad * x, lambda: x / bad, lambda: bad / x,
                   lambda: x ** bad, lambda: bad ** x]:
            with pytest.raises(TypeError):
                op()


def test_children_must_be_values(V, no_new_nodes):
    with no_new_nodes():
        with pytest.raises(TypeError):
            V(1.0, (1.0, 2.0), "+")


@pytest.mark.parametrize("make, error", [
    (lambda V: V(0.0).log(), ValueError),
    (lambda V: V(-1.0).log(), ValueError),
    (lambda V: V(-8.0) ** 0.5, ValueError),
    (lambda V: V(-8.0) ** V(0.5), ValueError),
    (lambda V: V(0.0) ** -1, ZeroDivisionError),
    (lambda V: V(0.0) ** -0.5, ZeroDivisionError),
    (lambda V: V(0.0) ** V(-1.0), ZeroDivisionError),
    (lambda V: 1 / V(0.0), ZeroDivisionError),
    (lambda V: V(1.0) / V(0.0), ZeroDivisionError),
    (lambda V: V(1.0) / 0, ZeroDivisionError),
    (lambda V: V(1.0) / 0.0, ZeroDivisionError),
    (lambda V: V(1000.0).exp(), OverflowError),
    (lambda V: V(10.0) ** 400, OverflowError),
    (lambda V: V(10.0) ** V(400.0), OverflowError),
    (lambda V: 10 ** V(400.0), OverflowError),
])
def test_math_errors(V, make, error, no_new_nodes):
    # The operands are made inside the call too: a failed op must leave
    # nothing behind, not even the leaves of its operands.
    with no_new_nodes():
        with pytest.raises(error):
            make(V)


def test_log_error_message(V):
    with pytest.raises(ValueError, match="math domain error"):
        V(0.0).log()


def test_errors_leave_existing_nodes_intact(V, no_new_nodes):
    x = V(0.0)
    y = x + 1
    with no_new_nodes():
        for op in [lambda: x.log(), lambda: x ** -1, lambda: 1 / x, lambda: (y * 1000).exp()]:
            with pytest.raises((ValueError, ZeroDivisionError, OverflowError)):
                op()
    y.backward()
    assert (x.data, y.data, x.grad) == (0.0, 1.0, 1.0)
